"""Every accepted way of writing a value in the form, and the Thai reason when it cannot be read."""

from datetime import date, datetime
from decimal import Decimal

import pytest

from otop_sync.cells import (
    DistrictNames,
    Formula,
    Problem,
    read_count,
    read_decimal,
    read_month,
    read_period,
    read_timestamp,
)
from otop_sync.periods import Month, Quarter

from .conftest import CONFIG, bkk


@pytest.mark.parametrize(
    "written",
    [
        "สิงหาคม 2567",
        "ส.ค. 2567",
        "ส.ค. 67",
        "ส.ค.2567",
        "สค 2567",
        "8/2567",
        "08/2567",
        "2024-08",
        "๘/๒๕๖๗",
        " เดือนสิงหาคม 2567 ",
        date(2024, 8, 1),
        datetime(2024, 8, 20),
        45505,  # a Sheets serial day: 1 August 2024
        45520.5,
    ],
)
def test_months_in_every_accepted_form(written: object) -> None:
    assert read_month(written) == Month(2024, 8)  # type: ignore[arg-type]


@pytest.mark.parametrize("written", ["สิงหา", "13/2567", "2567", "ส.ค.", "", None, 8, 2024.08, Formula("=A1")])
def test_unreadable_months_say_so(written: object) -> None:
    result = read_month(written)  # type: ignore[arg-type]
    assert isinstance(result, Problem)
    assert result.reason.startswith("เดือนที่รายงานอ่านไม่ได้")


def test_base_year_periods_may_be_whole_quarters() -> None:
    assert read_period("ไตรมาส 4/2566") == Quarter(2566, 4)
    assert read_period("ไตรมาสที่ 4/2566") == Quarter(2566, 4)
    assert read_period("ก.ค. 2566") == Month(2023, 7)


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("16/8/2567 10:05:00", bkk(2024, 8, 16, 10, 5)),  # B.E. year, as Thai-locale Sheets writes it
        ("16/8/2024 10:05:00", bkk(2024, 8, 16, 10, 5)),
        ("๑๖/๘/๒๕๖๗ ๑๐:๐๕:๐๐", bkk(2024, 8, 16, 10, 5)),
        ("16/8/2567 9:05", bkk(2024, 8, 16, 9, 5)),
        (datetime(2024, 8, 16, 10, 5), bkk(2024, 8, 16, 10, 5)),  # a naive date cell is Bangkok time
        (date(2024, 8, 16), bkk(2024, 8, 16)),
        (45520.5, bkk(2024, 8, 16, 12, 0)),  # a Sheets serial: days since 1899-12-30
        (45520, bkk(2024, 8, 16)),
    ],
)
def test_timestamps_in_every_accepted_form(written: object, expected: datetime) -> None:
    assert read_timestamp(written) == expected  # type: ignore[arg-type]


def test_an_aware_timestamp_is_converted_to_bangkok() -> None:
    from datetime import UTC

    assert read_timestamp(datetime(2024, 8, 15, 17, 0, 0, tzinfo=UTC)) == bkk(2024, 8, 16, 0, 0)


@pytest.mark.parametrize("written", ["เมื่อวาน", "32/8/2567 10:00:00", -5, True, Formula("=NOW()"), None])
def test_unreadable_timestamps(written: object) -> None:
    assert isinstance(read_timestamp(written), Problem)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        (1234567, Decimal(1234567)),
        (1296295.35, Decimal("1296295.35")),
        ("1,296,295.35", Decimal("1296295.35")),
        ("1 296 295.35 บาท", Decimal("1296295.35")),
        ("๑,๒๓๔,๕๖๗ บาท", Decimal(1234567)),
        ("฿ 500", Decimal(500)),
        (0, Decimal(0)),
    ],
)
def test_amounts(written: object, expected: Decimal) -> None:
    assert read_decimal(written, "ยอดจำหน่าย") == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        ("ห้าหมื่นบาท", "ยอดจำหน่ายไม่ใช่ตัวเลข (“ห้าหมื่นบาท”)"),
        (-1, "ยอดจำหน่ายติดลบ (-1)"),
        ("", "ยอดจำหน่ายว่าง"),
        (Formula("=SUM(E2:E4)"), "ยอดจำหน่ายเป็นสูตรคำนวณ ไม่ใช่ค่าที่กรอก (“=SUM(E2:E4)”)"),
        (True, "ยอดจำหน่ายไม่ใช่ตัวเลข (“True”)"),
        (float("nan"), "ยอดจำหน่ายไม่ใช่ตัวเลข (“nan”)"),
        ("1.2.3", "ยอดจำหน่ายไม่ใช่ตัวเลข (“1.2.3”)"),
    ],
)
def test_bad_amounts_say_why_in_thai(written: object, reason: str) -> None:
    assert read_decimal(written, "ยอดจำหน่าย") == Problem(reason)  # type: ignore[arg-type]


def test_counts_are_whole_and_not_negative() -> None:
    assert read_count("๓ ผลิตภัณฑ์", "จำนวนผลิตภัณฑ์") == 3
    assert read_count(2.0, "จำนวนผลิตภัณฑ์") == 2
    assert read_count("1.5", "จำนวนผลิตภัณฑ์") == Problem("จำนวนผลิตภัณฑ์ไม่เป็นจำนวนเต็ม (1.5)")
    assert read_count("-1", "จำนวนผลิตภัณฑ์") == Problem("จำนวนผลิตภัณฑ์ติดลบ (-1)")


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("เมืองหนองคาย", "4301"),
        ("อ.เมือง", "4301"),
        ("อ. เมือง", "4301"),
        ("อำเภอเมืองหนองคาย", "4301"),
        ("  ท่าบ่อ ", "4302"),
        ("อำเภอ  ท่าบ่อ", "4302"),
        ("โพน\u200bพิสัย\u200b", "4305"),
        ("\ufeffสังคม", "4308"),
        ("pho tak", "4317"),
        ("4314", "4314"),
    ],
)
def test_districts_however_written(written: str, code: str) -> None:
    result = DistrictNames(CONFIG.province.districts).read(written)
    assert not isinstance(result, Problem)
    assert result.code == code


def test_an_unknown_district_is_named_in_the_reason() -> None:
    names = DistrictNames(CONFIG.province.districts)
    assert names.read("บึงกาฬ") == Problem("ไม่รู้จักอำเภอ “บึงกาฬ”")
    assert names.read("") == Problem("ไม่ได้ระบุอำเภอ")


def test_a_long_answer_is_read_as_any_other_but_not_kept_after() -> None:
    # A service running for months remembers the short answers that come back thousands of times; a
    # hostile workbook's megabyte answers must not stay in its memory after their run.
    import gc
    import tracemalloc

    names = DistrictNames(CONFIG.province.districts)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(5):
            padding = " " * 50_000 + "\u200b" * (n + 1)  # a different long answer each time
            assert read_month(f"{padding}ส.ค. 2567{padding}") == Month(2024, 8)
            district = names.read(f"{padding}ท่าบ่อ{padding}")
            assert not isinstance(district, Problem)
            assert district.code == "4302"
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert kept < 500_000, kept


def test_a_text_longer_than_any_cell_holds_is_cut_where_it_is_read() -> None:
    from otop_sync.cells import CELL_LIMIT, within_cell_limit

    assert within_cell_limit("ก" * CELL_LIMIT) == "ก" * CELL_LIMIT
    cut = within_cell_limit("ก" * (CELL_LIMIT + 1))
    assert len(cut) == CELL_LIMIT
    assert cut.endswith("ก…")


def test_an_answer_too_long_to_be_a_value_is_unreadable_without_being_cleaned() -> None:
    from otop_sync.cells import VALUE_LIMIT, is_blank, read_decimal, read_month, read_timestamp

    pasted = "x" * VALUE_LIMIT  # a page pasted after the answer
    assert read_decimal("1" + pasted, "ยอดจำหน่าย") == Problem("ยอดจำหน่ายไม่ใช่ตัวเลข (“1" + "x" * 59 + "…”)")
    assert isinstance(read_month("ส.ค. 2567" + pasted), Problem)
    assert isinstance(read_timestamp("1/9/2567 10:00:00" + pasted), Problem)
    assert isinstance(DistrictNames(CONFIG.province.districts).read("ท่าบ่อ" + pasted), Problem)
    # Spaces around an answer are no part of it, however many.
    assert read_decimal(" " * VALUE_LIMIT + "1" + "\u200b " * VALUE_LIMIT, "ยอดจำหน่าย") == Decimal(1)
    assert is_blank(" \u200b" * VALUE_LIMIT)
    assert not is_blank(" " * VALUE_LIMIT + "x")
