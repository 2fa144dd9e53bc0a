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
from typing import cast

from otop_sync.cells import DistrictNames, display
from otop_sync.config import Config, District
from otop_sync.grading import flag_reports, grade_district, select_reports
from otop_sync.numerals import Numerals
from otop_sync.outcome import GradeChange, Outcome, RowCounts, YearRow
from otop_sync.periods import Month, Quarter
from otop_sync.responses import Tab, read_base_year, read_responses
from otop_sync.sources.contract import SheetData, Source, Writes
from otop_sync.tables import (
    GRADE_COLUMN,
    GROWTH_COLUMN,
    RESULT_COLUMNS,
    ROUND_COLUMNS,
    RUN_LOG_COLUMNS,
    Cell,
    Row,
    Table,
    as_cell,
    problems_table,
    result_row,
    results_table,
    run_log_row,
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
) -> Outcome:
    """`before_write` may raise to abandon the run after reading and deciding, before any write."""
    data = source.read(config.form)
    outcome, writes = decide(
        data,
        config=config,
        as_of=as_of,
        computed_at=computed_at,
        quarter=quarter,
        regrade=regrade,
        dry_run=dry_run,
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
) -> tuple[Outcome, Writes]:
    """Grade every district for every quarter in the responses, and lay out the owned tabs."""
    form = config.form
    names = DistrictNames(config.province.districts)
    responses = read_responses(data.responses, form=form, districts=names, as_of=as_of)
    base_year = read_base_year(data.base_year, form=form, districts=names)
    selection = select_reports(responses.reports)
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
        rows=RowCounts(selection.used, selection.superseded + responses.copies, len(responses.rejections)),
        districts=tuple(r for r in results if r.quarter == current),
        # "ผลรายไตรมาส" holds the quarters found in the responses; the one asked for may have none yet.
        every_quarter=tuple(r for r in results if r.quarter in found),
        rejections=responses.rejections,
        base_problems=base_year.problems,
        flags=flag_reports(selection, results, checks=config.checks),
        changes=(),
    )
    tabs = form.tabs
    previous = _previous_rows(data.previous_quarterly)
    quarterly = _quarterly_rows(outcome, {} if regrade else previous, current=current)
    outcome = replace(
        outcome,
        changes=_grade_changes(previous, quarterly),
        fiscal_year=_fiscal_year(quarterly, current, config.province.districts),
    )
    summary = results_table(tabs.summary, outcome.districts, outcome, Numerals(config.brief.thai_numerals))
    writes = Writes(
        tables=(
            summary,
            Table(tabs.quarterly, RESULT_COLUMNS, tuple(quarterly.values()), frozen_columns=2),
            problems_table(tabs.problems, outcome, [*(t.title for t in data.responses), tabs.base_year]),
        ),
        run_log=Table(tabs.run_log, RUN_LOG_COLUMNS, (run_log_row(outcome),)),
    )
    return outcome, writes


Key = tuple[str, Quarter]  # district code, quarter


def _quarterly_rows(outcome: Outcome, kept: Mapping[Key, Row], *, current: Quarter) -> dict[Key, Row]:
    """Every quarter x every district, in order. The current quarter and quarters not yet in the tab
    are computed; the others keep the row they were graded with (`kept` is empty for --regrade)."""
    results = outcome.every_quarter
    rows = {key: row for key, row in kept.items() if key[1] != current}
    for result in results:
        key = (result.district.code, result.quarter)
        if key not in rows:
            rows[key] = result_row(result, outcome.flags, outcome.as_of)
    order = {code: i for i, code in enumerate(dict.fromkeys(r.district.code for r in results))}
    return {key: rows[key] for key in sorted(rows, key=lambda k: (k[1], order.get(k[0], len(order)), k[0]))}


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
