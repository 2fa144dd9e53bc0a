"""Rules that must hold for every input, not only the examples."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from otop_sync.cells import CellValue, Formula, writable
from otop_sync.grading import grade_of
from otop_sync.periods import Month, Quarter
from otop_sync.sources.xlsx_reader import open_workbook

from .conftest import CONFIG, answer, bkk, run, sheet

RUBRIC = CONFIG.rubric_for(Quarter(2567, 4))
assert RUBRIC is not None
ORDER = "DCBA"

amounts = st.decimals(min_value=-100, max_value=10_000, places=4, allow_nan=False, allow_infinity=False)


@given(products=st.integers(0, 20), more=st.integers(0, 20), growth=amounts, rise=amounts.map(abs))
def test_the_grade_never_falls_when_products_or_sales_rise(
    products: int, more: int, growth: Decimal, rise: Decimal
) -> None:
    before = grade_of(RUBRIC, products, growth)
    assert ORDER.index(grade_of(RUBRIC, products + more, growth)) >= ORDER.index(before)
    assert ORDER.index(grade_of(RUBRIC, products, growth + rise)) >= ORDER.index(before)


cell_values: st.SearchStrategy[CellValue] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.text(alphabet="๐๑๒๓๔๕๖๗๘๙0123456789/.,- :บาทส.ค.อำเภอเมืองท่าบ่อ\u200b", max_size=25),
    st.sampled_from(["ท่าบ่อ", "อ.เมือง", "ส.ค. 2567", "8/2567", "2024-08", "16/8/2567 10:00:00", "1,000 บาท"]),
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
    st.dates(),
    st.builds(Formula, st.text(max_size=10).map(lambda t: "=" + t)),
)
rows = st.lists(st.lists(cell_values, min_size=0, max_size=9).map(tuple), max_size=25)


@settings(max_examples=300, deadline=None)
@given(rows=rows)
def test_any_cells_at_all_parse_without_raising_and_every_row_is_accounted_for(
    rows: list[tuple[CellValue, ...]],
) -> None:
    outcome = run(sheet(rows), bkk(2024, 9, 16, 8))
    counts = outcome.rows
    assert counts.read == counts.used + counts.superseded + counts.rejected
    assert counts.rejected == len(outcome.rejections)
    non_empty = [
        r for r in rows if any(v not in (None, "") and not (isinstance(v, str) and not v.strip()) for v in r)
    ]
    assert counts.read <= len(non_empty)
    assert len(outcome.districts) == len(CONFIG.province.districts)


@settings(max_examples=150, deadline=None)
@given(
    reports=st.lists(
        st.tuples(
            st.datetimes(min_value=datetime(2024, 4, 1), max_value=datetime(2024, 10, 31)),
            st.sampled_from([d.name for d in CONFIG.province.districts]),
            st.sampled_from([Month(2024, m) for m in range(4, 11)]),
            st.integers(0, 5),
            st.integers(0, 2_000_000),
        ),
        max_size=30,
    )
)
def test_valid_rows_are_used_or_superseded_one_per_district_and_quarter(
    reports: list[tuple[datetime, str, Month, int, int]],
) -> None:
    answers = [answer(ts, name, f"{m.month}/{m.be_year}", p, s) for ts, name, m, p, s in reports]
    outcome = run(sheet(answers), bkk(2024, 9, 16, 8))
    counts = outcome.rows
    groups = {(r.district.code, r.quarter) for r in outcome.every_quarter if r.report is not None}
    assert counts.used == len(groups)
    assert counts.read == counts.used + counts.superseded + counts.rejected
    for result in outcome.every_quarter:
        if result.growth_pct is not None and result.report is not None and result.base and result.base.sales:
            expected = (result.report.sales - result.base.sales) / result.base.sales * 100
            assert abs(result.growth_pct - expected) < Decimal("1e-20")


def test_a_timestamp_in_year_one_is_read_and_its_row_rejected_not_a_crash() -> None:
    outcome = run(sheet([answer(date(1, 1, 1), "ท่าบ่อ", "ส.ค. 2567", 1, 1)]), bkk(2024, 9, 16))
    assert (outcome.rows.read, outcome.rows.rejected) == (1, 1)


# What a workbook saved by another program holds, read by otop_sync's reader and by openpyxl's: the two
# must agree on every cell. openpyxl cannot write characters XML forbids, nor text starting with "=" as
# text, so those are left to the tests of escapes and formulas.
workbook_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**15) + 1, 10**15 - 1),  # past 15 digits, Excel's precision, a number is a float
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20).filter(lambda t: not t.startswith("=") and writable(t) == t),
    st.datetimes(min_value=datetime(1900, 3, 1), max_value=datetime(9999, 12, 31)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(workbook_values, min_size=1, max_size=5), min_size=1, max_size=5))
def test_the_reader_agrees_with_openpyxl_on_every_cell(tmp_path: Path, rows: list[list[object]]) -> None:
    book = Workbook()
    sheet_ = book.active
    assert sheet_ is not None
    sheet_.title = "ข้อมูล"
    sheet_.append(["ก", "ข", "ค", "ง", "จ"])
    for row in rows:
        sheet_.append(row)
    path = tmp_path / "values.xlsx"
    book.save(path)
    expected = list(load_workbook(path)["ข้อมูล"].iter_rows(values_only=True))
    with open_workbook(path) as opened:
        read = opened.tab("ข้อมูล").rows
    # The reader drops a row's trailing empty cells, and the empty rows that end a tab.
    trimmed = [_without_trailing_none(row) for row in expected]
    while trimmed and not trimmed[-1]:
        trimmed.pop()
    assert len(read) == len(trimmed)
    for cells, ours in zip(trimmed, read, strict=True):
        assert len(ours) == len(cells)
        for their, our in zip(cells, ours, strict=True):
            if isinstance(their, datetime):
                assert isinstance(our, datetime)
                assert abs(our - their) <= timedelta(milliseconds=1)  # Excel keeps milliseconds
            else:
                assert our == their
                # 5 and 5.0 are one number; True is not 1, nor "1" 1.
                assert isinstance(our, bool) == isinstance(their, bool)
                assert isinstance(our, str) == isinstance(their, str)


def _without_trailing_none(row: tuple[object, ...]) -> list[object]:
    cells = list(row)
    while cells and cells[-1] is None:
        cells.pop()
    return cells
