"""The one use case: read the spreadsheet, validate, grade, and write the tabs otop_sync owns.

``sync`` reads through a ``Source``, decides with the pure core (``decide``), then writes the result
back through the same source, unless it is a dry run. Any spreadsheet that can hand over its tabs as
cell values is a source: a local workbook, Google Sheets, or memory in tests.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import TypeVar, cast

from otop_sync import remedies
from otop_sync.cells import DistrictNames, display, read_timestamp
from otop_sync.config import Config
from otop_sync.grading import Flag, flag_reports, grade_district, select_reports
from otop_sync.numerals import Numerals
from otop_sync.outcome import GradeChange, Outcome, RowCounts, YearRow
from otop_sync.periods import Month, Quarter, format_be_datetime
from otop_sync.quarter_life import Resolutions, closes_at
from otop_sync.responses import Rejection, Report, Tab, read_base_year, read_responses
from otop_sync.rules import Deadlines, District
from otop_sync.sources.contract import SheetData, Source, Writes
from otop_sync.tables import (
    GRADE_COLUMN,
    GROWTH_COLUMN,
    RESULT_COLUMNS,
    ROUND_COLUMNS,
    BriefLink,
    Cell,
    Row,
    Table,
    as_cell,
    problems_table,
    result_row,
    results_table,
    run_log_table,
    title_positions,
)


def sync(
    source: Source,
    *,
    config: Config,
    as_of: datetime,
    computed_at: datetime,
    quarter: Quarter | None = None,
    regrade: bool = False,
    dry_run: bool = False,
    before_write: Callable[[], None] | None = None,
    brief: BriefLink | None = None,
) -> Outcome:
    """`before_write` may raise to abandon the run after reading and deciding, before any write. `brief`:
    where the latest brief was published, for the tabs to say (with [drive] set)."""
    data = source.read(config.form)
    outcome, writes = decide(
        data,
        config=config,
        as_of=as_of,
        computed_at=computed_at,
        quarter=quarter,
        regrade=regrade,
        dry_run=dry_run,
        brief=brief,
    )
    if not dry_run:
        if before_write is not None:
            before_write()
        source.write(writes)
    return outcome


def decide(
    data: SheetData,
    *,
    config: Config,
    as_of: datetime,
    computed_at: datetime,
    quarter: Quarter | None = None,
    regrade: bool = False,
    dry_run: bool = False,
    brief: BriefLink | None = None,
) -> tuple[Outcome, Writes]:
    """Grade every district for every quarter in the responses, and lay out the owned tabs."""
    form, deadlines = config.form, config.deadlines
    names = DistrictNames(config.province.districts)
    responses = read_responses(data.responses, form=form, districts=names, as_of=as_of)
    base_year = read_base_year(data.base_year, form=form, districts=names)
    counted, after_closing = _split_after_closing(responses.reports, deadlines)
    selection = select_reports(counted)
    resolved = Resolutions(counted, deadlines, as_of)
    current = quarter or Quarter.of(Month.of(as_of))
    found = {q for _, q in selection.by_district_quarter}
    quarters = sorted(found | {current})
    results = [
        grade_district(
            district,
            q,
            reports=selection.by_district_quarter.get((district.code, q), ()),
            base_year=base_year,
            rubric=config.rubric_for(q),
            deadlines=config.deadlines,
            as_of=as_of,
        )
        for q in quarters
        for district in config.province.districts
    ]
    outcome = Outcome(
        quarter=current,
        as_of=as_of,
        computed_at=computed_at,
        regrade=regrade,
        dry_run=dry_run,
        # A relinked form's copies are read, and superseded by the rows they copy.
        rows=RowCounts(
            selection.used,
            selection.superseded + responses.copies,
            len(responses.rejections) + len(after_closing),
        ),
        districts=tuple(r for r in results if r.quarter == current),
        # "ผลรายไตรมาส" holds the quarters found in the responses; the one asked for may have none yet.
        every_quarter=tuple(r for r in results if r.quarter in found),
        rejections=_with_states(_in_order((*responses.rejections, *after_closing), data.responses), resolved),
        base_problems=base_year.problems,
        flags=_with_states(flag_reports(selection, results, checks=config.checks), resolved),
        changes=(),
        after_closing=len(after_closing),
    )
    tabs = form.tabs
    previous = _previous_rows(data.previous_quarterly)
    kept = {} if regrade else _final_rows(previous, deadlines, as_of)
    quarterly = _quarterly_rows(outcome, kept, previous)
    outcome = replace(
        outcome,
        changes=_grade_changes(previous, quarterly),
        fiscal_year=_fiscal_year(quarterly, current, config.province.districts),
    )
    digits = Numerals(config.brief.thai_numerals)
    summary = results_table(tabs.summary, outcome.districts, outcome, digits, brief)
    writes = Writes(
        tables=(
            summary,
            Table(tabs.quarterly, RESULT_COLUMNS, tuple(quarterly.values()), frozen_columns=2),
            problems_table(tabs.problems, outcome, [*(t.title for t in data.responses), tabs.base_year]),
        ),
        run_log=run_log_table(tabs.run_log, outcome, brief, published=config.drive.configured),
    )
    return outcome, writes


Key = tuple[str, Quarter]  # district code, quarter


def _quarterly_rows(
    outcome: Outcome, final: Mapping[Key, Row], previous: Mapping[Key, Row]
) -> dict[Key, Row]:
    """Every quarter x every district, in order. A closed quarter graded after it closed keeps the row it
    was graded with (`final`, empty for --regrade); every other quarter found in the responses is graded
    again, so a late report or a correction counts while its quarter is open or late. A row of the tab
    whose quarter is no longer in the responses stays as it is."""
    results = outcome.every_quarter
    graded = {(r.district.code, r.quarter) for r in results}
    rows = {key: row for key, row in previous.items() if key not in graded} if not outcome.regrade else {}
    rows.update(final)
    for result in results:
        key = (result.district.code, result.quarter)
        if key not in rows:
            rows[key] = result_row(result, outcome.flags, outcome.as_of)
    order = {code: i for i, code in enumerate(dict.fromkeys(r.district.code for r in results))}
    return {key: rows[key] for key in sorted(rows, key=lambda k: (k[1], order.get(k[0], len(order)), k[0]))}


def _split_after_closing(
    reports: Sequence[Report], deadlines: Deadlines
) -> tuple[tuple[Report, ...], tuple[Rejection, ...]]:
    """The rows that count, and those sent after their quarter closed: listed, never counted, so that a
    closed quarter's grades never change silently (SPEC: "A quarter's life")."""
    counted, late = [], []
    for report in reports:
        closed = closes_at(report.quarter, deadlines)
        if report.submitted <= closed:
            counted.append(report)
            continue
        reason = (
            f"ส่งหลัง{report.quarter.label}ปิดรับรายงานเมื่อ {format_be_datetime(closed)}; "
            "ผลการประเมินของไตรมาสนี้ไม่เปลี่ยน"
        )
        late.append(
            Rejection(
                report.tab,
                report.row,
                report.district.name,
                (reason,),
                (remedies.AFTER_CLOSING,),
                report.sender,
                report.district.code,
                report.month,
            )
        )
    return tuple(counted), tuple(late)


def _in_order(rejections: Sequence[Rejection], tabs: Sequence[Tab]) -> tuple[Rejection, ...]:
    order = {tab.title: i for i, tab in enumerate(tabs)}
    return tuple(sorted(rejections, key=lambda r: (order.get(r.tab, len(order)), r.row)))


P = TypeVar("P", Rejection, Flag)


def _with_states(problems: Sequence[P], resolutions: Resolutions) -> tuple[P, ...]:
    """Each problem with its state: unresolved, resolved by a later valid row, or its quarter closed."""
    placed = []
    for problem in problems:
        code = problem.district.code if isinstance(problem, Flag) else problem.district
        state, by = resolutions.state(
            code, problem.month, problem.sender.submitted, tab=problem.tab, row=problem.row
        )
        where = f"แท็บ “{by.tab}” แถวที่ {by.row}" if by else ""
        placed.append(replace(problem, state=state, resolved_by=where))
    return tuple(placed)


# The column "ข้อมูล ณ" of ผลรายไตรมาส: when the row was graded.
GRADED_AT_COLUMN = len(RESULT_COLUMNS) - 1


def _final_rows(previous: Mapping[Key, Row], deadlines: Deadlines, as_of: datetime) -> dict[Key, Row]:
    """The rows of the tab that are final: of a quarter closed by `as_of`, graded after it closed."""
    final = {}
    for key, row in previous.items():
        closed = closes_at(key[1], deadlines)
        if as_of <= closed:
            continue
        graded_at = read_timestamp(row[GRADED_AT_COLUMN])
        if isinstance(graded_at, datetime) and graded_at > closed:
            final[key] = row
    return final


def _previous_rows(previous: Tab | None) -> dict[Key, Row]:
    """The rows of an earlier per-quarter tab, when it has today's columns, found by their titles (a
    coordinator may have added or moved one since); otherwise nothing is kept."""
    if previous is None or not previous.rows:
        return {}
    expected = [c.title for c in RESULT_COLUMNS]
    # The rounds were named "รอบเดือนที่ n" before: the same columns.
    renamed = {f"รอบเดือนที่ {n}": expected[index] for n, index in enumerate(ROUND_COLUMNS, start=1)}
    header = [renamed.get(title, title) for title in (display(v).strip() for v in previous.rows[0])]
    width = len(RESULT_COLUMNS)
    positions: list[int] | None = None  # None: today's columns, in today's order
    if header[:width] != expected:
        positions = title_positions(header, expected)
        if positions is None:
            return {}
    kept: dict[Key, Row] = {}
    quarters: dict[str, Quarter | None] = {}  # a few labels, each read once
    for raw in previous.rows[1:]:
        cells = raw[:width] if positions is None else [raw[i] if i < len(raw) else None for i in positions]
        # Text, whole numbers and empty cells are cells already: only the rest is converted.
        row = cast(Row, tuple(v if v is None or type(v) in (str, int) else as_cell(v) for v in cells))
        row += (None,) * (width - len(row))
        label = str(row[2] or "")
        if label not in quarters:
            quarters[label] = Quarter.from_label(label)
        quarter = quarters[label]
        if row[0] and quarter:
            kept[(str(row[0]), quarter)] = row
    return kept


def _fiscal_year(
    rows: Mapping[Key, Row], current: Quarter, districts: Sequence[District]
) -> tuple[YearRow, ...]:
    """Every configured district across the fiscal year's quarters up to `current`, from the rows of
    ผลรายไตรมาส: what the brief's year table shows is what the tab holds."""
    quarters = [Quarter(current.fiscal_year, n) for n in range(1, current.number + 1)]
    year = []
    for district in districts:
        found = [rows.get((district.code, q)) for q in quarters]
        year.append(
            YearRow(
                district.code,
                district.name,
                tuple(str(row[GRADE_COLUMN] or "") if row else "" for row in found),
                tuple(_decimal(row[GROWTH_COLUMN]) if row else None for row in found),
            )
        )
    return tuple(year)


def _decimal(value: Cell) -> Decimal | None:
    return value if isinstance(value, Decimal) else Decimal(value) if isinstance(value, int) else None


def _grade_changes(previous: Mapping[Key, Row], rows: Mapping[Key, Row]) -> tuple[GradeChange, ...]:
    changes = []
    for key, row in rows.items():
        before = previous.get(key)
        if before is not None and before[GRADE_COLUMN] != row[GRADE_COLUMN]:
            code, name, label = (str(cell) for cell in row[:3])
            changes.append(GradeChange(code, name, label, str(before[GRADE_COLUMN]), str(row[GRADE_COLUMN])))
    return tuple(changes)
