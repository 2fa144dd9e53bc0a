"""Thai fiscal quarters, B.E. labels and deadlines."""

from datetime import date

import pytest

from otop_sync.periods import (
    Month,
    Quarter,
    days_late,
    deadline,
    format_be_datetime,
    format_thai_date,
    format_thai_moment,
)

from .conftest import bkk


@pytest.mark.parametrize(
    ("month", "code", "label"),
    [
        (Month(2023, 10), "2567Q1", "ไตรมาส 1/2567"),
        (Month(2023, 12), "2567Q1", "ไตรมาส 1/2567"),
        (Month(2024, 1), "2567Q2", "ไตรมาส 2/2567"),
        (Month(2024, 6), "2567Q3", "ไตรมาส 3/2567"),
        (Month(2024, 7), "2567Q4", "ไตรมาส 4/2567"),
        (Month(2024, 9), "2567Q4", "ไตรมาส 4/2567"),
        (Month(2024, 10), "2568Q1", "ไตรมาส 1/2568"),
    ],
)
def test_quarters_are_thai_fiscal_quarters(month: Month, code: str, label: str) -> None:
    assert month.quarter.code == code
    assert month.quarter.label == label


def test_q1_spans_two_calendar_years() -> None:
    assert Quarter(2568, 1).months == (Month(2024, 10), Month(2024, 11), Month(2024, 12))
    assert Quarter(2568, 2).months[0] == Month(2025, 1)


def test_the_same_quarter_of_the_base_year() -> None:
    assert Quarter(2567, 4).same_quarter_years_before(1).months == (
        Month(2023, 7),
        Month(2023, 8),
        Month(2023, 9),
    )


def test_quarter_codes_and_labels_read_back() -> None:
    assert Quarter.parse("2567Q4") == Quarter(2567, 4)
    assert Quarter.parse("2567q1") == Quarter(2567, 1)
    assert Quarter.from_label("ไตรมาส 4/2567") == Quarter(2567, 4)
    assert Quarter.from_label("Q4") is None
    with pytest.raises(ValueError, match="2567Q4"):
        Quarter.parse("ไตรมาส 4")


def test_letters_rounds_fall_on_the_15th_at_23_59_59_bangkok() -> None:
    assert deadline(Month(2024, 7), due_day=15) == bkk(2024, 7, 15, 23, 59, 59)
    assert deadline(Month(2024, 9), due_day=15, month_offset=1) == bkk(2024, 10, 15, 23, 59, 59)
    assert deadline(Month(2024, 2), due_day=31) == bkk(2024, 2, 29, 23, 59, 59)


def test_days_late_are_calendar_days_in_bangkok() -> None:
    due = deadline(Month(2024, 8), due_day=15)
    assert days_late(bkk(2024, 8, 16, 0, 0, 1), due) == 1
    assert days_late(bkk(2024, 8, 18, 23, 0), due) == 3


def test_buddhist_era_dates() -> None:
    assert format_be_datetime(bkk(2024, 9, 16, 8, 0)) == "16/09/2567 08:00:00"
    assert format_thai_date(date(2024, 9, 13)) == "13 กันยายน 2567"
    assert format_thai_moment(bkk(2024, 9, 15, 23, 59)) == "15 ก.ย. 2567 23.59 น."
    assert Month(2024, 8).label == "ส.ค. 2567"
