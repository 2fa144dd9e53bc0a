"""Lay the results out as the rows of the tabs otop_sync owns, in the words a coordinator reads.

Pure. Cells are plain values (text, whole numbers, Decimal rounded for display); each column says what
kind it is so that every adapter formats it the same way (baht, percent, grade colour).
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from otop_sync.cells import CellValue, display
from otop_sync.grading import DistrictResult, Flag, NextGrade, Round, Status, Timeliness
from otop_sync.lengths import fit
from otop_sync.outcome import Outcome
from otop_sync.periods import format_be_datetime
from otop_sync.responses import Sender

Cell = str | int | Decimal | None
Row = tuple[Cell, ...]
Digits = Callable[[str], str]  # a text in the chosen digits (numerals.Numerals)


class Kind(StrEnum):
    TEXT = "text"
    INTEGER = "integer"
    MONEY = "money"
    PERCENT = "percent"
    GRADE = "grade"


# How an owned tab looks, the same in a workbook and in Google Sheets.
NUMBER_FORMATS = {Kind.INTEGER: "#,##0", Kind.MONEY: "#,##0.00", Kind.PERCENT: "0.00"}
GRADE_COLOURS = {"A": "C6EFCE", "B": "DDEBF7", "C": "FFEB9C", "D": "FFC7CE"}  # RGB, by grade
NO_GRADE_COLOUR = "EDEDED"
HEADER_COLOUR = "D9E1F2"
WRAP_LONGER_THAN = 30  # characters: longer text wraps in its cell
LINE_HEIGHT = 15.0  # points: a line of the default 11-point font, as Excel and LibreOffice set it
MAX_ROW_HEIGHT = 409.0  # points: Excel's largest row
THAI_CHAR_WIDTH = 1.15  # a Thai letter, in widths of the digit 0 (column widths are counted in those)
# Excel holds at most 32,767 characters in a cell and Google Sheets refuses a batch with a cell over
# 50,000 ("Your input contains more than the maximum of 50000 characters in a single cell."): one limit,
# the smaller, in UTF-16 units as both count, so that the same cells fit either.
CELL_TEXT_LIMIT = 32_767


@dataclass(frozen=True)
class BriefLink:
    """Where the latest brief was published (Google Drive) and when: the results tabs name it."""

    link: str
    at: datetime


# Written only when the brief is published ([drive]): the link in สรุปผล (the same every run, so that
# two runs still write the same cells), the link and when it was published in the run log.
BRIEF_LINK_COLUMN_TITLE = "สรุปสำหรับผู้บริหาร (ฉบับล่าสุด)"


@dataclass(frozen=True)
class Column:
    title: str
    kind: Kind = Kind.TEXT
    width: int = 14


@dataclass(frozen=True)
class Table:
    title: str
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    frozen_columns: int = 0  # columns kept in view when a coordinator scrolls right

    @property
    def header(self) -> Row:
        return tuple(c.title for c in self.columns)


RESULT_COLUMNS = (
    Column("รหัสอำเภอ", width=10),
    Column("อำเภอ", width=16),
    Column("ไตรมาส", width=14),
    Column("เดือนล่าสุดที่รายงาน", width=12),
    Column("ผลิตภัณฑ์ที่ลงทะเบียนเพิ่ม", Kind.INTEGER, 12),
    Column("ยอดจำหน่ายสะสม (บาท)", Kind.MONEY, 18),
    Column("ยอดจำหน่ายปีฐาน เดือนเดียวกัน (บาท)", Kind.MONEY, 18),
    Column("อัตราเพิ่ม (%)", Kind.PERCENT, 11),
    Column("ระดับ", Kind.GRADE, 12),
    Column("ระดับด้านผลิตภัณฑ์", Kind.GRADE, 11),
    Column("ระดับด้านยอดจำหน่าย", Kind.GRADE, 11),
    Column("สิ่งที่ต้องทำเพื่อเลื่อนระดับ", width=48),
    # Every quarter shares the header of ผลรายไตรมาส, so a round is named by the months it can be;
    # สรุปผล names its own months (results_table).
    Column("รอบที่ 1 (ต.ค. ม.ค. เม.ย. ก.ค.)", width=16),
    Column("รอบที่ 2 (พ.ย. ก.พ. พ.ค. ส.ค.)", width=16),
    Column("รอบที่ 3 (ธ.ค. มี.ค. มิ.ย. ก.ย.)", width=16),
    Column("หมายเหตุ", width=48),
    Column("ข้อมูล ณ", width=20),
)
GROWTH_COLUMN, GRADE_COLUMN = 7, 8
ROUND_COLUMNS = range(12, 15)
PROBLEM_COLUMNS = (
    Column("แถวที่", Kind.INTEGER, 8),
    Column("แท็บ", width=22),
    Column("อำเภอ (ตามที่กรอก)", width=20),
    Column("ประเภท", width=18),
    Column("เหตุผล", width=50),
    Column("วิธีแก้ไข", width=50),
    Column("ส่งเมื่อ", width=20),
    Column("ผู้รายงาน", width=20),
    Column("โทรศัพท์", width=14),
    # A problem's life: unresolved until a later valid row replaces it, or its quarter closes.
    Column("ไตรมาส", width=14),
    Column("สถานะ", width=30),
)
RUN_LOG_COLUMNS = (
    Column("ประมวลผลเมื่อ", width=20),
    Column("ข้อมูล ณ", width=20),
    Column("ไตรมาส", width=14),
    Column("โหมด", width=18),
    Column("แถวที่อ่าน", Kind.INTEGER, 10),
    Column("ใช้", Kind.INTEGER, 8),
    Column("ถูกแทนที่", Kind.INTEGER, 10),
    Column("ไม่นำมาใช้", Kind.INTEGER, 10),
    Column("ระดับที่เปลี่ยน", width=60),
)
REJECTED = "ไม่นำมาใช้"
FLAGGED = "ใช้ แต่โปรดตรวจสอบ"
NO_GRADE = {
    Status.NOT_REPORTED: "ยังไม่รายงาน",
    Status.NO_BASE: "ไม่จัดระดับ",
    Status.NO_RUBRIC: "ไม่จัดระดับ",
}
_TIMELINESS = {
    Timeliness.ON_TIME: "ตรงเวลา",
    Timeliness.NOT_REPORTED: "ยังไม่รายงาน",
    Timeliness.PENDING: "ยังไม่ถึงกำหนด",
}


def row_height(columns: Sequence[Column], row: Row, *, header: bool = False) -> float | None:
    """The points a row needs for its wrapped text to show whole in Excel and LibreOffice, which do not
    fit a row to text written by another program; None when one line does."""
    lines = 1
    for column, value in zip(columns, row, strict=False):  # the Sheets API drops trailing empty cells
        if isinstance(value, str) and (header or len(value) > WRAP_LONGER_THAN):
            lines = max(lines, text_lines(value, column.width))
    return min(lines * LINE_HEIGHT, MAX_ROW_HEIGHT) if lines > 1 else None


def text_lines(text: str, width: int) -> int:
    """Lines `text` takes in a column `width` characters wide: Thai vowels and tone marks above and below
    a letter (non-spacing marks) take no width; a Thai letter is a little wider than the digit 0 that
    column widths are counted in."""
    lines = 0
    for paragraph in text.split("\n"):
        shown = len(paragraph.translate(_NO_WIDTH))
        lines += max(1, math.ceil(shown * THAI_CHAR_WIDTH / max(width - 1, 1)))
    return lines


# Non-spacing marks (Unicode category Mn) of the Thai block and the combining diacritics, dropped by
# str.translate before counting: a row's height is asked of every long cell of a national tab.
_NO_WIDTH = dict.fromkeys(
    c for c in (*range(0x0E00, 0x0E80), *range(0x0300, 0x0370)) if unicodedata.category(chr(c)) == "Mn"
)


def cell_text(text: str) -> str:
    """Text as a cell can hold it: whole, or cut with a visible mark saying how much was kept."""
    return fit(text, CELL_TEXT_LIMIT, lambda kept: f"…(ตัดเหลือ {len(kept):,} ตัวอักษร)")


def title_positions(header: Sequence[str], titles: Sequence[str]) -> list[int] | None:
    """Where each of `titles` stands in `header` (the first of each), or None when one is missing: an
    owned tab read back, whose columns a coordinator may have moved or added to."""
    found = {title: index for index, title in reversed(list(enumerate(header)))}
    return [found[title] for title in titles] if all(title in found for title in titles) else None


def as_cell(value: CellValue) -> Cell:
    """A value read back from a tab (an earlier run's results or log) as a cell to write again."""
    if isinstance(value, bool):
        return str(value)
    if value is None or isinstance(value, str | int | Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return display(value)


def rounded(value: Decimal | None) -> Decimal | None:
    """Two decimals for display; the grade was decided on the full value."""
    return None if value is None else value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def baht(value: Decimal) -> str:
    return f"{rounded(value):,.2f}"


def round_text(round_: Round) -> str:
    if round_.timeliness is Timeliness.LATE:
        return f"ช้า {round_.days_late} วัน"
    return _TIMELINESS[round_.timeliness]


def grade_text(result: DistrictResult) -> str:
    return result.grade.value if result.grade else NO_GRADE[result.status]


def growth_condition_text(next_: NextGrade) -> str:
    words = "มากกว่า" if next_.growth_condition.operator == ">" else "ไม่น้อยกว่า"
    return f"อัตราเพิ่มต้อง{words}ร้อยละ {next_.growth_condition.value}"


def needs_text(result: DistrictResult) -> str:
    """What the district still needs for the next grade, as a coordinator would say it."""
    if result.grade is None:
        return ""
    next_ = result.next_grade
    if next_ is None:
        return "ได้ระดับสูงสุดแล้ว"
    needs = []
    if next_.products_needed:
        needs.append(f"ลงทะเบียนผลิตภัณฑ์เพิ่มอีก {next_.products_needed} ผลิตภัณฑ์")
    if next_.sales_needed:
        needs.append(
            f"ยอดจำหน่ายเพิ่มอีก {baht(next_.sales_needed)} บาท "
            f"({growth_condition_text(next_)} ขาดอีก {rounded(next_.growth_points_needed)} จุด)"
        )
    return f"ระดับ {next_.grade}: " + " และ".join(needs)


def _remarks(result: DistrictResult, flags: Sequence[Flag]) -> str:
    parts = list(result.notes)
    if result.report is not None:
        row = (result.report.tab, result.report.row)
        parts.extend(f"ข้อสังเกต: {f.reason}" for f in flags if (f.tab, f.row) == row)
        if result.report.remarks:
            parts.append(f"หมายเหตุจากอำเภอ: {result.report.remarks}")
    return "; ".join(parts)


def result_row(result: DistrictResult, flags: Sequence[Flag], as_of: datetime) -> Row:
    report, base = result.report, result.base
    rounds = [round_text(r) for r in result.rounds]
    return (
        result.district.code,
        result.district.name,
        result.quarter.label,
        report.month.label if report else "",
        report.new_products if report else None,
        rounded(report.sales) if report else None,
        rounded(base.sales) if base else None,
        rounded(result.growth_pct),
        grade_text(result),
        result.products_level.value if result.products_level else "",
        result.growth_level.value if result.growth_level else "",
        needs_text(result),
        *rounds,
        *[""] * (3 - len(rounds)),
        _remarks(result, flags),
        format_be_datetime(as_of),
    )


def results_table(
    title: str,
    results: Iterable[DistrictResult],
    outcome: Outcome,
    digits: Digits,
    brief: BriefLink | None = None,
) -> Table:
    """The current quarter, its round columns named by their months in the brief's digits; with the
    latest brief's link at the end of each row when the brief is published."""
    rows = tuple(result_row(r, outcome.flags, outcome.as_of) for r in results)
    columns = list(RESULT_COLUMNS)
    for index, month in zip(ROUND_COLUMNS, outcome.quarter.months, strict=True):
        columns[index] = replace(columns[index], title=digits(f"รอบ {month.label}"))
    if brief is not None:
        columns.append(Column(BRIEF_LINK_COLUMN_TITLE, width=40))
        rows = tuple((*row, brief.link) for row in rows)
    return Table(title, tuple(columns), rows, frozen_columns=2)


def run_log_table(title: str, outcome: Outcome, brief: BriefLink | None, *, published: bool) -> Table:
    """This run's row of the run log; with the latest brief's link and when it was published when the
    brief is published (`published`: [drive] is set), "ยังไม่ได้เผยแพร่" before its first edition."""
    if not published:
        return Table(title, RUN_LOG_COLUMNS, (run_log_row(outcome),))
    where = f"{brief.link} (เผยแพร่ {format_be_datetime(brief.at)})" if brief else "ยังไม่ได้เผยแพร่"
    return Table(
        title,
        (*RUN_LOG_COLUMNS, Column(BRIEF_LINK_COLUMN_TITLE, width=60)),
        ((*run_log_row(outcome), where),),
    )


def problems_table(title: str, outcome: Outcome, tab_order: Sequence[str]) -> Table:
    """Every rejected or flagged row, by tab (in `tab_order`: the responses tabs, then the base year)
    and row, with what to do and whom to call."""
    rank = {tab: i for i, tab in enumerate(tab_order)}
    issues = sorted(outcome.issues, key=lambda i: (rank.get(i.tab, len(rank)), i.row))
    return Table(
        title,
        PROBLEM_COLUMNS,
        tuple(
            (
                i.row,
                i.tab,
                i.district,
                FLAGGED if i.flagged else REJECTED,
                i.reason,
                i.remedy,
                *_sender_cells(i.sender),
                i.quarter.label if i.quarter else "",
                i.state_text,
            )
            for i in issues
        ),
    )


def _sender_cells(sender: Sender) -> Row:
    when = format_be_datetime(sender.submitted) if sender.submitted else ""
    return (when, sender.reporter, sender.phone)


def run_log_row(outcome: Outcome) -> Row:
    rows = outcome.rows
    changes = "; ".join(f"{c.code} {c.name} {c.quarter}: {c.before} → {c.after}" for c in outcome.changes)
    return (
        format_be_datetime(outcome.computed_at),
        format_be_datetime(outcome.as_of),
        outcome.quarter.label,
        "ประมวลผลใหม่ทุกไตรมาส" if outcome.regrade else "ประมวลผลไตรมาสปัจจุบัน",
        rows.read,
        rows.used,
        rows.superseded,
        rows.rejected,
        changes or "ไม่มี",
    )
