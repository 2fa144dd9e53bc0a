"""Thai fiscal months and quarters, Buddhist-Era labels and report deadlines.

Pure: standard library only, no clock. The Thai fiscal year FY (B.E.) runs from 1 October of B.E. FY-1
to 30 September of B.E. FY; B.E. = C.E. + 543.
"""

from __future__ import annotations

import calendar
import functools
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

BANGKOK = ZoneInfo("Asia/Bangkok")
BE_OFFSET = 543

THAI_MONTHS = (
    "มกราคม",
    "กุมภาพันธ์",
    "มีนาคม",
    "เมษายน",
    "พฤษภาคม",
    "มิถุนายน",
    "กรกฎาคม",
    "สิงหาคม",
    "กันยายน",
    "ตุลาคม",
    "พฤศจิกายน",
    "ธันวาคม",
)
THAI_MONTHS_SHORT = (
    "ม.ค.",
    "ก.พ.",
    "มี.ค.",
    "เม.ย.",
    "พ.ค.",
    "มิ.ย.",
    "ก.ค.",
    "ส.ค.",
    "ก.ย.",
    "ต.ค.",
    "พ.ย.",
    "ธ.ค.",
)

_THAI_DIGITS = str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙")
_QUARTER_CODE = re.compile(r"^\s*(\d{4})\s*[Qq]\s*([1-4])\s*$")
_QUARTER_LABEL = re.compile(r"^ไตรมาส ([1-4])/(\d{4})$")


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month, stored in C.E."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise ValueError(f"month {self.month} is not 1..12")

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    @property
    def be_year(self) -> int:
        return self.year + BE_OFFSET

    @property
    def iso(self) -> str:
        """ "2024-08": the form the JSON uses."""
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def label(self) -> str:
        """ "ส.ค. 2567": the form a Thai reader sees."""
        return f"{THAI_MONTHS_SHORT[self.month - 1]} {self.be_year}"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def quarter(self) -> Quarter:
        return Quarter.of(self)

    def shift(self, months: int) -> Month:
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    def months_since(self, earlier: Month) -> int:
        return (self.year - earlier.year) * 12 + self.month - earlier.month


@dataclass(frozen=True, order=True)
class Quarter:
    """A Thai fiscal quarter: fiscal year in B.E. and number 1..4 (Q1 = Oct-Dec)."""

    fiscal_year: int
    number: int

    def __post_init__(self) -> None:
        if not 1 <= self.number <= 4:
            raise ValueError(f"quarter {self.number} is not 1..4")

    @classmethod
    def of(cls, month: Month) -> Quarter:
        if month.month >= 10:
            return cls(month.be_year + 1, 1)
        return cls(month.be_year, (month.month - 1) // 3 + 2)

    @classmethod
    def parse(cls, text: str) -> Quarter:
        """Read "2567Q4" (B.E. fiscal year, quarter number). A year that looks Christian Era ("2024Q4") is
        refused with the quarter meant, never taken for a fiscal year five centuries ago."""
        found = _QUARTER_CODE.match(text)
        if not found:
            raise ValueError(f"{text!r} is not a quarter like 2567Q4")
        year, number = int(found[1]), int(found[2])
        if year < BE_YEARS_FROM:
            raise ValueError(
                f"{text.strip()!r} looks like a Christian-Era year: quarters are Buddhist-Era fiscal "
                f"quarters; did you mean {year + BE_OFFSET}Q{number}?"
            )
        return cls(year, number)

    @classmethod
    def from_label(cls, text: str) -> Quarter | None:
        """Read back a label written by `label`; None when it is not one."""
        found = _QUARTER_LABEL.match(text)
        return cls(int(found[2]), int(found[1])) if found else None

    @property
    def code(self) -> str:
        return f"{self.fiscal_year}Q{self.number}"

    @property
    def label(self) -> str:
        return f"ไตรมาส {self.number}/{self.fiscal_year}"

    @property
    def months(self) -> tuple[Month, Month, Month]:
        return _months_of(self)

    def same_quarter_years_before(self, years: int) -> Quarter:
        return Quarter(self.fiscal_year - years, self.number)


@functools.lru_cache(maxsize=1024)
def _months_of(quarter: Quarter) -> tuple[Month, Month, Month]:
    # Asked for every district in every quarter: computed once per quarter.
    first = Month(quarter.fiscal_year - BE_OFFSET - 1, 10).shift(3 * (quarter.number - 1))
    return (first, first.shift(1), first.shift(2))


# Years are never guessed: a year from 2400 on is Buddhist Era (2567), one below is Christian Era (2024).
# Both eras are read where officers type (a cell's "8/2567"); on the command line each value has one era.
BE_YEARS_FROM = 2400


def parse_moment(text: str) -> datetime:
    """An ISO 8601 date-time of the command line, Christian Era; without an offset, Bangkok time. A year
    that looks Buddhist Era ("2567-09-16") is refused with the date meant: read as it is, it would grade
    a quarter five centuries ahead, every district not reported."""
    moment = datetime.fromisoformat(text.strip())
    if moment.year >= BE_YEARS_FROM:
        meant = text.strip().replace(str(moment.year), str(moment.year - BE_OFFSET), 1)
        raise ValueError(
            f"{text.strip()!r} looks like a Buddhist-Era date: dates here are Christian Era (ISO 8601); "
            f"did you mean {meant}?"
        )
    return to_bangkok(moment)


def fiscal_year_of(moment: datetime) -> int:
    """The B.E. fiscal year a moment falls in, in Bangkok: 1 October 2024 is in 2568."""
    return Quarter.of(Month.of(to_bangkok(moment))).fiscal_year


def to_bangkok(moment: datetime) -> datetime:
    """An aware datetime in Bangkok time; a naive one is taken to be Bangkok time already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=BANGKOK)
    return moment.astimezone(BANGKOK)


@functools.lru_cache(maxsize=1024)  # asked for every district's every round: computed once per month
def deadline(month: Month, *, due_day: int, month_offset: int = 0) -> datetime:
    """The last second (Bangkok) on which the report of `month` is on time.

    The due day is clamped to the month's length, so a due day of 31 means "the last day".
    """
    due_month = month.shift(month_offset)
    last_day = calendar.monthrange(due_month.year, due_month.month)[1]
    day = date(due_month.year, due_month.month, min(due_day, last_day))
    return datetime.combine(day, time(23, 59, 59), tzinfo=BANGKOK)


def days_late(submitted: datetime, due: datetime) -> int:
    """Calendar days after the due day, in Bangkok: 00:00:01 on the 16th is one day late."""
    return (to_bangkok(submitted).date() - to_bangkok(due).date()).days


def thai_digits(text: str) -> str:
    return text.translate(_THAI_DIGITS)


def format_be_datetime(moment: datetime) -> str:
    """ "16/09/2567 08:00:00": Bangkok time with a B.E. year."""
    local = to_bangkok(moment)
    return f"{local.day:02d}/{local.month:02d}/{local.year + BE_OFFSET} {local:%H:%M:%S}"


def format_thai_date(day: date) -> str:
    """ "13 กันยายน 2567" (numerals.Numerals makes it "๑๓ กันยายน ๒๕๖๗" where Thai digits are set)."""
    return f"{day.day} {THAI_MONTHS[day.month - 1]} {day.year + BE_OFFSET}"


def format_thai_moment(moment: datetime) -> str:
    """ "16 ก.ย. 2567 08.00 น.": a time as a Thai letter writes it, in Bangkok."""
    local = to_bangkok(moment)
    return f"{local.day} {THAI_MONTHS_SHORT[local.month - 1]} {local.year + BE_OFFSET} {local:%H.%M} น."


def start_of(month: Month) -> datetime:
    return datetime.combine(month.first_day, time(0), tzinfo=BANGKOK)
