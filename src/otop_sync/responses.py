"""Turn the rows of the responses and base-year tabs into typed reports, or rejections with reasons.

Pure: the tabs arrive as cell values (see ``sources``), "now" is passed in.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from otop_sync import remedies
from otop_sync.cells import (
    CellValue,
    DistrictNames,
    Problem,
    display,
    is_blank,
    read_count,
    read_decimal,
    read_month,
    read_period,
    read_timestamp,
    short_text,
)
from otop_sync.config import BASE_FIELDS, FIELDS, REQUIRED_FIELDS, SheetLayout
from otop_sync.errors import LayoutError
from otop_sync.periods import Month, Quarter
from otop_sync.quarter_life import ProblemState
from otop_sync.rules import District
from otop_sync.thai import clean_text

HEADER_ROW = 1


@dataclass(frozen=True)
class Tab:
    """A tab as cell values; ``rows[0]`` is the header, so sheet row n is ``rows[n - 1]``."""

    title: str
    rows: tuple[tuple[CellValue, ...], ...]


@dataclass(frozen=True)
class Report:
    """A valid response row, named by its tab and sheet row."""

    tab: str
    row: int
    submitted: datetime
    district: District
    month: Month
    new_products: int
    sales: Decimal
    reporter: str = ""
    phone: str = ""
    remarks: str = ""

    @property
    def quarter(self) -> Quarter:
        return self.month.quarter

    @property
    def sender(self) -> Sender:
        return Sender(self.submitted, self.reporter, self.phone)


@dataclass(frozen=True)
class Sender:
    """Who sent a row, and when, as the form recorded them: whom a coordinator calls about a problem."""

    submitted: datetime | None = None  # None when the timestamp itself cannot be read
    reporter: str = ""
    phone: str = ""


NO_SENDER = Sender()


@dataclass(frozen=True)
class Rejection:
    """A row left out, with its tab, its sheet row number, every reason and what to do, in Thai."""

    tab: str
    row: int
    district_as_written: str
    reasons: tuple[str, ...]
    remedies: tuple[str, ...] = ()
    sender: Sender = NO_SENDER
    district: str | None = None  # the district's code, when it could be read
    month: Month | None = None  # the month reported, when it could be read
    state: ProblemState = ProblemState.UNRESOLVED  # set by the sync
    resolved_by: str = ""  # where the row that replaced it is ("แท็บ … แถวที่ …")


@dataclass(frozen=True)
class Responses:
    reports: tuple[Report, ...]
    rejections: tuple[Rejection, ...]
    copies: int = 0  # rows of an older responses tab that a relinked form copied into a newer one


@dataclass(frozen=True)
class BaseYear:
    """Base-year sales by district code and month, and whole-quarter totals where that is all there is."""

    monthly: Mapping[tuple[str, Month], Decimal]
    quarterly: Mapping[tuple[str, Quarter], Decimal]
    problems: tuple[Rejection, ...]


def find_columns(tab: Tab, titles: Mapping[str, tuple[str, ...]]) -> dict[str, tuple[int, str]]:
    """Each field whose question title is in row 1: its column index and the title that matched."""
    header = [clean_text(v) if isinstance(v, str) else "" for v in (tab.rows[0] if tab.rows else ())]
    found: dict[str, tuple[int, str]] = {}
    for field, candidates in titles.items():
        title = next((t for t in candidates if clean_text(t) in header), None)
        if title is not None:
            found[field] = (header.index(clean_text(title)), title)
    return found


def locate_columns(
    tab: Tab, titles: Mapping[str, tuple[str, ...]], required: Sequence[str]
) -> dict[str, int]:
    """The column index of each field, by its question title; a missing required one is a LayoutError."""
    found = find_columns(tab, titles)
    for field in required:
        if field not in found:
            raise LayoutError(
                f"tab {tab.title!r} has no column {titles[field][0]!r} (row 1 holds the titles)"
            )
    return {field: index for field, (index, _) in found.items()}


def _cell(row: Sequence[CellValue], index: int | None) -> CellValue:
    # The Sheets API drops trailing empty cells, so rows are ragged.
    return row[index] if index is not None and index < len(row) else None


def read_responses(
    tabs: Sequence[Tab], *, form: SheetLayout, districts: DistrictNames, as_of: datetime
) -> Responses:
    """Every non-empty row submitted by `as_of`, as a Report or a Rejection (never dropped silently).

    `tabs` are the responses tabs, oldest link of the form first. A relinked form copies every earlier
    answer into its new tab: a row of an older tab equal to a row of a newer one is such a copy, read and
    counted as superseded, never graded or listed. A row whose timestamp cannot be read counts as read,
    and is rejected.
    """
    reports: list[Report] = []
    rejections: list[Rejection] = []
    copies = 0
    newer: set[tuple[CellValue, ...]] = set()
    this_month = Month.of(as_of)
    for tab in reversed(tabs):
        columns = locate_columns(tab, form.columns, REQUIRED_FIELDS)
        answers: set[tuple[CellValue, ...]] = set()
        for number, row in enumerate(tab.rows[HEADER_ROW:], start=HEADER_ROW + 1):
            if all(is_blank(value) for value in row):
                continue
            submitted = read_timestamp(_cell(row, columns["timestamp"]))
            if isinstance(submitted, datetime) and submitted > as_of:
                continue
            if len(tabs) > 1:  # copies are only possible between tabs
                answer = _answer(row, columns)
                answers.add(answer)
                if answer in newer:
                    copies += 1
                    continue
            outcome = _read_row(tab.title, number, row, columns, submitted, districts, this_month)
            if isinstance(outcome, Report):
                reports.append(outcome)
            else:
                rejections.append(outcome)
        newer |= answers
    order = {tab.title: i for i, tab in enumerate(tabs)}
    return Responses(
        tuple(sorted(reports, key=lambda r: (order[r.tab], r.row))),
        tuple(sorted(rejections, key=lambda r: (order[r.tab], r.row))),
        copies,
    )


def _answer(row: Sequence[CellValue], columns: Mapping[str, int]) -> tuple[CellValue, ...]:
    """A row's timestamp and answers, by question (a newer tab may order its columns otherwise)."""
    return tuple(_comparable(_cell(row, columns.get(field))) for field in FIELDS)


def _comparable(value: CellValue) -> CellValue:
    """A cell as a key: equal answers equal, and every value hashable (a NaN is kept as its text)."""
    if isinstance(value, str):
        return value.strip() or None
    if (isinstance(value, Decimal) and not value.is_finite()) or (
        isinstance(value, float) and not math.isfinite(value)
    ):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)  # the same answer, read back as 5.0 from one tab and 5 from another
    return value


def _read_row(
    tab: str,
    number: int,
    row: Sequence[CellValue],
    columns: Mapping[str, int],
    submitted: datetime | Problem,
    districts: DistrictNames,
    this_month: Month,
) -> Report | Rejection:
    district_cell = _cell(row, columns["district"])
    district = districts.read(district_cell)
    month = read_month(_cell(row, columns["month"]))
    products = read_count(_cell(row, columns["new_products"]), "จำนวนผลิตภัณฑ์")
    sales = read_decimal(_cell(row, columns["sales"]), "ยอดจำหน่าย")
    reporter = short_text(_cell(row, columns.get("reporter")))
    # Kept as text: a telephone number's leading zero matters.
    phone = short_text(_cell(row, columns.get("phone")))
    answers = {
        "timestamp": submitted,
        "district": district,
        "month": month,
        "new_products": products,
        "sales": sales,
    }
    problems = [(field, v) for field, v in answers.items() if isinstance(v, Problem)]
    if isinstance(month, Month):
        problems.extend(("month", problem) for problem in _month_problems(month, submitted, this_month))
    if problems:
        return Rejection(
            tab,
            number,
            short_text(district_cell),
            tuple(problem.reason for _, problem in problems),
            remedies.for_response(field for field, _ in problems),
            Sender(submitted if isinstance(submitted, datetime) else None, reporter, phone),
            district.code if isinstance(district, District) else None,
            month if isinstance(month, Month) else None,
        )
    # No problem means every reader returned a value; the asserts only tell the type checker.
    assert isinstance(submitted, datetime)
    assert isinstance(district, District)
    assert isinstance(month, Month)
    assert isinstance(products, int)
    assert isinstance(sales, Decimal)
    return Report(
        tab=tab,
        row=number,
        submitted=submitted,
        district=district,
        month=month,
        new_products=products,
        sales=sales,
        reporter=reporter,
        phone=phone,
        remarks=display(_cell(row, columns.get("remarks"))).strip(),
    )


def _month_problems(month: Month, submitted: datetime | Problem, this_month: Month) -> list[Problem]:
    if month > this_month:
        return [Problem(f"เดือนที่รายงาน ({month.label}) ยังมาไม่ถึง")]
    if isinstance(submitted, datetime) and month > Month.of(submitted):
        return [Problem(f"เดือนที่รายงาน ({month.label}) อยู่หลังเดือนที่ส่งรายงาน ({Month.of(submitted).label})")]
    return []


def read_base_year(tab: Tab, *, form: SheetLayout, districts: DistrictNames) -> BaseYear:
    """Base-year sales per district and month (or quarter); a bad or repeated row is listed, not used."""
    columns = locate_columns(tab, form.base_year_columns, BASE_FIELDS)
    monthly: dict[tuple[str, Month], Decimal] = {}
    quarterly: dict[tuple[str, Quarter], Decimal] = {}
    first_row: dict[tuple[str, Month | Quarter], int] = {}
    problems: list[Rejection] = []
    for number, row in enumerate(tab.rows[HEADER_ROW:], start=HEADER_ROW + 1):
        if all(is_blank(value) for value in row):
            continue
        district_cell = _cell(row, columns["district"])
        district = districts.read(district_cell)
        period = read_period(_cell(row, columns["month"]))
        sales = read_decimal(_cell(row, columns["sales"]), "ยอดจำหน่ายปีฐาน")
        reasons = [v.reason for v in (district, period, sales) if isinstance(v, Problem)]
        remedy = remedies.BASE_YEAR
        if not reasons:
            assert isinstance(district, District)
            assert isinstance(sales, Decimal)
            assert isinstance(period, Month | Quarter)
            key = (district.code, period)
            if key in first_row:
                reasons.append(f"ซ้ำกับแถวที่ {first_row[key]} (ใช้แถวที่ {first_row[key]})")
                remedy = remedies.BASE_YEAR_REPEATED
            else:
                first_row[key] = number
                if isinstance(period, Month):
                    monthly[(district.code, period)] = sales
                else:
                    quarterly[(district.code, period)] = sales
        if reasons:
            problems.append(
                Rejection(tab.title, number, short_text(district_cell), tuple(reasons), (remedy,))
            )
    return BaseYear(monthly, quarterly, tuple(problems))
