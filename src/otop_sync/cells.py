"""Read one cell value as what it means (a count, baht, a month, a district), or say in Thai why not.

Pure. Every reader returns either a value or a ``Problem`` and never raises, whatever the cell holds:
a bad cell is data, reported with the row, never the end of a run.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import TypeVar

from otop_sync.periods import BANGKOK, BE_OFFSET, THAI_MONTHS, THAI_MONTHS_SHORT, Month, Quarter, to_bangkok
from otop_sync.rules import District
from otop_sync.thai import clean_text, district_key, remembered_when_short, without_bidi_controls

AnyDate = TypeVar("AnyDate", date, datetime)


@dataclass(frozen=True)
class Formula:
    """A cell that holds a formula rather than a value the officer typed."""

    text: str


CellValue = str | int | float | Decimal | datetime | date | bool | Formula | None


@dataclass(frozen=True)
class Problem:
    """Why a cell cannot be used, in Thai, ready for the coordinator."""

    reason: str


_UNIT_WORDS = ("บาท", "ผลิตภัณฑ์", "รายการ", "ชิ้น", "฿")
_DECIMAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_SHEETS_EPOCH = datetime(1899, 12, 30, tzinfo=BANGKOK)
_LAST_SERIAL = 2958465  # 31/12/9999
_FIRST_MONTH_SERIAL = 36526  # 1/1/2000: a smaller number in the month column is not a date
_TEXT_TIMESTAMP = re.compile(
    r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T,]+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?$"
)


def display(value: CellValue) -> str:
    """The cell as the officer would recognise it, for messages and the problems tab."""
    if value is None:
        return ""
    if isinstance(value, Formula):
        return value.text
    if isinstance(value, datetime | date):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    return str(value)


# The most a spreadsheet cell holds: Google Sheets' 50,000 characters (Excel's is 32,767). A longer text
# came from no real spreadsheet; the readers cut it to this before anything looks at its characters.
CELL_LIMIT = 50_000
# Far more than any district, month, number, timestamp, name or telephone number: an answer longer than
# this once the spaces around it are set aside is unreadable (or shown cut) without being cleaned, so the
# work on a cell never grows with its length, and a run's time grows with the file, not with one long
# text times the cells that refer to it.
VALUE_LIMIT = 1_000
# White space and the invisible characters that phones type: what str.strip sets aside at C speed.
_EDGES = "".join(chr(c) for c in range(0x3001) if chr(c).isspace()) + "\u200b\u200c\u200d\u2060\ufeff\u00ad"


def within_cell_limit(text: str) -> str:
    """The text, or its first CELL_LIMIT characters ending in "…": what a real cell could hold."""
    return f"{text[: CELL_LIMIT - 1]}…" if len(text) > CELL_LIMIT else text


def is_blank(value: CellValue) -> bool:
    if not isinstance(value, str):
        return value is None
    core = value.strip(_EDGES)
    return not core or (len(core) <= VALUE_LIMIT and not clean_text(core))


def short_text(value: CellValue) -> str:
    """A short answer (a name, a telephone number, a district as written) cleaned, from at most its first
    VALUE_LIMIT characters: more than a list of problems ever shows (SHOWN_LIMIT)."""
    return clean_text(display(value).strip(_EDGES)[:VALUE_LIMIT])


def _cleaned_if_short(text: str) -> str | None:
    """The text cleaned, or None for a text too long to be a value (VALUE_LIMIT)."""
    core = text.strip(_EDGES)
    return clean_text(core) if len(core) <= VALUE_LIMIT else None


REPLACEMENT = "\ufffd"  # "�": where a character could not be kept, for a person to see
# A lone UTF-16 surrogate (a broken client's half of an emoji) cannot be encoded, so it cannot be
# written to a file, a sheet, JSON or a message; control characters other than tab and new line break
# the XML of a workbook and show as nothing.
_UNWRITABLE = re.compile("[\ud800-\udfff\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def writable(text: str) -> str:
    """The text with every character that cannot be written replaced by "�", visibly."""
    return _UNWRITABLE.sub(REPLACEMENT, text)


QUOTE_LIMIT = 60  # characters of an answer that a reason quotes: enough to recognise it, never a page
# Characters of a short answer (a district as written, a reporter's name, a telephone number) shown in a
# list of problems: more than any real one, and a pasted page cannot fill the brief or a LINE message.
SHOWN_LIMIT = 100


def shortened(text: str, limit: int = QUOTE_LIMIT) -> str:
    """The text whole up to `limit` characters, else its first `limit` and "…"; with no bidirectional
    control, which could turn what follows the quote around."""
    return without_bidi_controls(f"{text[:limit]}…" if len(text) > limit else text)


def _quoted(value: CellValue) -> str:
    return f"“{shortened(display(value))}”"


def read_decimal(value: CellValue, label: str) -> Decimal | Problem:
    """A number of baht or products: numbers, or text with separators, spaces, Thai digits and a unit."""
    if is_blank(value):
        return Problem(f"{label}ว่าง")
    if isinstance(value, Formula):
        return Problem(f"{label}เป็นสูตรคำนวณ ไม่ใช่ค่าที่กรอก ({_quoted(value)})")
    if isinstance(value, bool | datetime | date):
        return Problem(f"{label}ไม่ใช่ตัวเลข ({_quoted(value)})")
    number: Decimal | None
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        # repr() is the shortest text that reads back as the same float: 0.1, not 0.1000000000000000055.
        number = Decimal(repr(value))
    elif isinstance(value, Decimal):
        number = value
    else:
        number = _decimal_from_text(str(value))
    if number is None or not number.is_finite():
        return Problem(f"{label}ไม่ใช่ตัวเลข ({_quoted(value)})")
    if number < 0:
        return Problem(f"{label}ติดลบ ({display(value)})")
    return number


def _decimal_from_text(text: str) -> Decimal | None:
    compact = _cleaned_if_short(text)
    if compact is None:
        return None
    for word in _UNIT_WORDS:
        compact = compact.replace(word, "")
    compact = compact.replace(",", "").replace(" ", "")
    if not _DECIMAL.match(compact):
        return None
    try:
        return Decimal(compact)
    except InvalidOperation:
        return None


def read_count(value: CellValue, label: str) -> int | Problem:
    number = read_decimal(value, label)
    if isinstance(number, Problem):
        return number
    if number != number.to_integral_value():
        return Problem(f"{label}ไม่เป็นจำนวนเต็ม ({display(value)})")
    return int(number)


def read_timestamp(value: CellValue) -> datetime | Problem:
    """A sheet serial number, a date cell, or "d/m/yyyy H:MM:SS" (B.E. above 2400), in Bangkok time."""
    moment: datetime | None = None
    try:
        if isinstance(value, datetime):
            moment = to_bangkok(_ce(value))
        elif isinstance(value, date):
            moment = datetime.combine(_ce(value), time(0), tzinfo=BANGKOK)
        elif isinstance(value, int | float | Decimal) and not isinstance(value, bool):
            moment = _from_serial(float(value))
        elif isinstance(value, str) and (text := _cleaned_if_short(value)) is not None:
            moment = _timestamp_from_text(text)
    except (ValueError, OverflowError, ArithmeticError):
        moment = None
    # The reason is worded only when there is one: at national size most cells have none.
    return moment or Problem(f"ประทับเวลาอ่านไม่ได้ ({_quoted(value)})")


def _ce(moment: AnyDate) -> AnyDate:
    # A date cell typed with a B.E. year (2567) is a C.E. date 543 years in the future.
    return moment.replace(year=moment.year - BE_OFFSET) if moment.year > 2400 else moment


def _from_serial(days: float) -> datetime | None:
    if not 1 <= days <= _LAST_SERIAL:
        return None
    # Sheets serials are days since 1899-12-30 in the spreadsheet's time zone (Bangkok);
    # rounded to the second because a float day cannot hold seconds exactly.
    local = _SHEETS_EPOCH.replace(tzinfo=None) + timedelta(seconds=round(days * 86400))
    return local.replace(tzinfo=BANGKOK)


def _timestamp_from_text(text: str) -> datetime | None:
    found = _TEXT_TIMESTAMP.match(text)
    if found:
        day, month, year, hour, minute, second = (int(g) if g else 0 for g in found.groups())
        if year > 2400:
            year -= BE_OFFSET
        return datetime(year, month, day, hour, minute, second, tzinfo=BANGKOK)
    try:
        return to_bangkok(_ce(datetime.fromisoformat(text)))
    except ValueError:
        return None


def _month_names() -> dict[str, int]:
    names: dict[str, int] = {}
    for number, (full, short) in enumerate(zip(THAI_MONTHS, THAI_MONTHS_SHORT, strict=True), start=1):
        names[full] = names[short] = names[short.replace(".", "")] = number
    return names


_MONTH_NAMES = _month_names()
_NAMED_MONTH = re.compile(r"^(?:เดือน)?\s*(\D+?)\s*(\d{2}|\d{4})$")
_NUMERIC_MONTH = re.compile(r"^(\d{1,2})\s*[/.-]\s*(\d{2}|\d{4})$")
_ISO_MONTH = re.compile(r"^(\d{4})\s*[-/]\s*(\d{1,2})$")
_QUARTER_TEXT = re.compile(r"^(?:ไตรมาส(?:ที่)?|Q)\s*([1-4])\s*/\s*(\d{2}|\d{4})$", re.IGNORECASE)


def _year(text: str) -> int | None:
    """A C.E. year from "2567", "67" (B.E. short form, as Thai officers write it) or "2024"."""
    year = int(text)
    if len(text) == 2:
        return 2500 + year - BE_OFFSET
    if year > 2400:
        return year - BE_OFFSET
    return year if 1900 <= year <= 2200 else None


def read_month(value: CellValue) -> Month | Problem:
    """ "สิงหาคม 2567", "ส.ค. 2567", "ส.ค. 67", "8/2567", "2024-08", or a date cell."""
    month: Month | None = None
    if isinstance(value, datetime | date):
        month = Month.of(_ce(value))
    elif isinstance(value, int | float) and not isinstance(value, bool) and value >= _FIRST_MONTH_SERIAL:
        # Sheets turns an answer like "2024-08" into a date, which the API hands over as a serial day.
        moment = _from_serial(float(value))
        month = Month.of(moment) if moment else None
    elif isinstance(value, str):
        month = _month_from_text(value)
    return month or Problem(f"เดือนที่รายงานอ่านไม่ได้ ({_quoted(value)})")


@remembered_when_short(4096)  # a dozen labels, written a few ways, thousands of times each
def _month_from_text(value: str) -> Month | None:
    text = _cleaned_if_short(value)
    if text is None:
        return None
    year_text, number = _split_month(text)
    if year_text is None or number is None or not 1 <= number <= 12:
        return None
    year = _year(year_text)
    return None if year is None else Month(year, number)


def _split_month(text: str) -> tuple[str | None, int | None]:
    if found := _ISO_MONTH.match(text):
        return found[1], int(found[2])
    if found := _NUMERIC_MONTH.match(text):
        return found[2], int(found[1])
    if found := _NAMED_MONTH.match(text):
        name = found[1].strip()
        return found[2], _MONTH_NAMES.get(name, _MONTH_NAMES.get(name.replace(" ", "")))
    return None, None


def read_period(value: CellValue) -> Month | Quarter | Problem:
    """A base-year period: a month, or a whole quarter written "ไตรมาส 4/2566"."""
    text = _cleaned_if_short(value) if isinstance(value, str) else None
    if text is not None and (found := _QUARTER_TEXT.match(text)):
        year = _year(found[2])
        if year is not None:
            return Quarter(year + BE_OFFSET, int(found[1]))
    month = read_month(value)
    if isinstance(month, Problem):
        return Problem(f"เดือนอ่านไม่ได้ ({_quoted(value)})")
    return month


UNKNOWN_DISTRICT = "ไม่รู้จักอำเภอ"


class DistrictNames:
    """Recognises a district however an officer wrote it (see ``thai.district_key``)."""

    def __init__(self, districts: Iterable[District]) -> None:
        self._by_name: dict[str, District] = {}
        for district in districts:
            for spelling in (district.code, district.name, *district.aliases):
                self._by_name[district_key(spelling)] = district

    def read(self, value: CellValue) -> District | Problem:
        if is_blank(value):
            return Problem("ไม่ได้ระบุอำเภอ")
        core = value.strip(_EDGES) if isinstance(value, str) else ""
        if len(core) <= VALUE_LIMIT and (district := self._by_name.get(district_key(core))):
            return district
        return Problem(f"{UNKNOWN_DISTRICT} {_quoted(value)}")
