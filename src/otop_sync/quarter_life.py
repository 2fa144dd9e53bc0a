"""A quarter's life (open until its last round's deadline, then late for a grace period, then closed), and
a problem's life with it (unresolved until a later valid row replaces it or its quarter closes).

Pure. While a quarter is open or late, every sync grades it again, so a late report or a correction counts.
Once it is closed its grades are final: a row that arrives for it afterwards is listed, never counted
(SPEC: "A quarter's life"). The first sync after the closing grades it one last time, with the rows sent
until then, so a report sent on the last day of the grace period counts whenever that sync runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from otop_sync.periods import Month, Quarter, deadline
from otop_sync.rules import Deadlines

if TYPE_CHECKING:
    from otop_sync.responses import Report


class Life(StrEnum):
    OPEN = "open"
    LATE = "late"
    CLOSED = "closed"


def last_deadline(quarter: Quarter, deadlines: Deadlines) -> datetime:
    return deadline(quarter.months[-1], due_day=deadlines.due_day, month_offset=deadlines.month_offset)


def closes_at(quarter: Quarter, deadlines: Deadlines) -> datetime:
    """The last moment a row for `quarter` still counts."""
    return last_deadline(quarter, deadlines) + timedelta(days=deadlines.grace_days)


def life_of(quarter: Quarter, deadlines: Deadlines, as_of: datetime) -> Life:
    if as_of <= last_deadline(quarter, deadlines):
        return Life.OPEN
    return Life.LATE if as_of <= closes_at(quarter, deadlines) else Life.CLOSED


def months_still_counting(as_of: datetime, deadlines: Deadlines) -> tuple[Month, ...]:
    """The months a district may still send a report for: every month of every quarter that is not closed,
    up to the end of the fiscal year `as_of` falls in (so that the whole year is offered as it starts)."""
    current = Quarter.of(Month.of(as_of))
    quarters = [
        quarter
        for quarter in (Quarter(current.fiscal_year, n) for n in range(1, 5))
        if life_of(quarter, deadlines, as_of) is not Life.CLOSED
    ]
    earlier = Quarter(current.fiscal_year - 1, 4)
    while life_of(earlier, deadlines, as_of) is not Life.CLOSED:  # month_offset and grace reach back
        quarters.insert(0, earlier)
        earlier = Quarter(earlier.fiscal_year - (earlier.number == 1), earlier.number - 1 or 4)
    return tuple(month for quarter in quarters for month in quarter.months)


def offered_months(
    as_of: datetime, deadlines: Deadlines, *, fiscal_year: int | None = None
) -> tuple[Month, ...]:
    """The months the form offers: every month whose report can still count, and a fiscal year asked for
    by name (to prepare the next one's form before it starts); never a month that can still count less."""
    asked = (m for n in range(1, 5) for m in Quarter(fiscal_year, n).months) if fiscal_year else ()
    return tuple(sorted({*months_still_counting(as_of, deadlines), *asked}))


class ProblemState(StrEnum):
    """Where a rejected or flagged row stands: only an unresolved one is announced, reminded of or briefed."""

    UNRESOLVED = "unresolved"
    RESOLVED = "resolved"  # a later valid row of the same district and month replaced it
    QUARTER_CLOSED = "quarter_closed"

    @property
    def thai(self) -> str:
        return {"unresolved": "ยังไม่แก้ไข", "resolved": "แก้ไขแล้ว", "quarter_closed": "ไตรมาสปิดแล้ว"}[self.value]


class Resolutions:
    """Tells each problem's state from the valid rows of the run."""

    def __init__(self, reports: Iterable[Report], deadlines: Deadlines, as_of: datetime) -> None:
        self._by_month: dict[tuple[str, Month], list[Report]] = {}
        for report in sorted(reports, key=lambda r: (r.submitted, r.tab, r.row)):
            self._by_month.setdefault((report.district.code, report.month), []).append(report)
        self._deadlines, self._as_of = deadlines, as_of

    def state(
        self, district: str | None, month: Month | None, submitted: datetime | None, *, tab: str, row: int
    ) -> tuple[ProblemState, Report | None]:
        """The problem's state, and the row that resolved it. Its quarter is its month's, or the month's it
        was sent in when the month cannot be read; a row with neither is never closed."""
        if district is not None and month is not None:
            for later in self._by_month.get((district, month), ()):
                is_later = submitted is None or later.submitted > submitted
                if is_later and (later.tab, later.row) != (tab, row):
                    return ProblemState.RESOLVED, later
        about = month or (Month.of(submitted) if submitted else None)
        if about is not None and life_of(about.quarter, self._deadlines, self._as_of) is Life.CLOSED:
            return ProblemState.QUARTER_CLOSED, None
        return ProblemState.UNRESOLVED, None
