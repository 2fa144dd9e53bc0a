"""What one sync found, and its JSON form (the ``--json`` object of SPEC.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from otop_sync.cells import SHOWN_LIMIT, shortened
from otop_sync.grading import DistrictResult, Flag
from otop_sync.periods import Month, Quarter
from otop_sync.quarter_life import ProblemState
from otop_sync.remedies import joined
from otop_sync.responses import Rejection, Sender


@dataclass(frozen=True)
class RowCounts:
    """Rows of the responses tab submitted by "now": read = used + superseded + rejected, always."""

    used: int
    superseded: int
    rejected: int

    @property
    def read(self) -> int:
        return self.used + self.superseded + self.rejected


@dataclass(frozen=True)
class GradeChange:
    code: str
    name: str
    quarter: str
    before: str
    after: str


@dataclass(frozen=True)
class Issue:
    """A row to fix or to look at, whichever reader found it: what the tab ตรวจสอบข้อมูล, the brief and
    the LINE announcement each list about it."""

    tab: str
    row: int
    district: str  # as written, or the district's name for a row that was read
    reason: str
    remedy: str
    sender: Sender
    flagged: bool = False  # used in the grade, but worth a second look
    base_year: bool = False  # a row of the base-year tab: the coordinator's to fix
    quarter: Quarter | None = None  # the month's quarter, or the quarter it was sent in
    state: ProblemState = ProblemState.UNRESOLVED
    resolved_by: str = ""  # where the row that replaced it is

    @property
    def open(self) -> bool:
        """Whether reminders, announcements and the brief list it: unresolved, its quarter not closed."""
        return self.state is ProblemState.UNRESOLVED

    @property
    def state_text(self) -> str:
        """The state as ตรวจสอบข้อมูล shows it, with the row that resolved it."""
        return f"{self.state.thai} ({self.resolved_by})" if self.resolved_by else self.state.thai


@dataclass(frozen=True)
class YearRow:
    """A district's quarters of the fiscal year so far, as the tab ผลรายไตรมาส holds them."""

    code: str
    name: str
    grades: tuple[str, ...]  # quarter 1 first; "" where the tab has no row
    growths: tuple[Decimal | None, ...]


@dataclass(frozen=True)
class Outcome:
    quarter: Quarter
    as_of: datetime
    computed_at: datetime
    regrade: bool
    dry_run: bool
    rows: RowCounts
    districts: tuple[DistrictResult, ...]  # the quarter asked for, one per configured district
    every_quarter: tuple[DistrictResult, ...]
    rejections: tuple[Rejection, ...]
    base_problems: tuple[Rejection, ...]
    flags: tuple[Flag, ...]
    changes: tuple[GradeChange, ...]
    fiscal_year: tuple[YearRow, ...] = ()  # the quarters of the current one's fiscal year, up to it
    after_closing: int = 0  # rows sent after their quarter closed: among the rejections, never counted

    @property
    def issues(self) -> tuple[Issue, ...]:
        """Every rejected, flagged and base-year row, in that order, each with its remedy and sender."""
        return (
            *(_issue(r) for r in self.rejections),
            *(
                Issue(
                    f.tab,
                    f.row,
                    f.district.name,
                    f.reason,
                    f.remedy,
                    _shown(f.sender),
                    flagged=True,
                    quarter=_quarter_of(f.month, f.sender),
                    state=f.state,
                    resolved_by=f.resolved_by,
                )
                for f in self.flags
            ),
            *(_issue(b, base_year=True) for b in self.base_problems),
        )


def _issue(rejection: Rejection, *, base_year: bool = False) -> Issue:
    return Issue(
        rejection.tab,
        rejection.row,
        shortened(rejection.district_as_written, SHOWN_LIMIT),
        "; ".join(rejection.reasons),
        joined(rejection.remedies),
        _shown(rejection.sender),
        base_year=base_year,
        quarter=None if base_year else _quarter_of(rejection.month, rejection.sender),
        state=rejection.state,
        resolved_by=rejection.resolved_by,
    )


def _quarter_of(month: Month | None, sender: Sender) -> Quarter | None:
    about = month or (Month.of(sender.submitted) if sender.submitted else None)
    return about.quarter if about else None


def _shown(sender: Sender) -> Sender:
    """The sender as a list of problems shows it: the tab, the brief and LINE; the JSON keeps it whole."""
    reporter, phone = (shortened(text, SHOWN_LIMIT) for text in (sender.reporter, sender.phone))
    return Sender(sender.submitted, reporter, phone)


def _number(value: Decimal | None) -> float | None:
    # JSON has one number type; a float carries 17 significant digits, all a baht or a percent needs.
    return None if value is None else float(value)


def district_json(result: DistrictResult) -> dict[str, Any]:
    report, base, next_ = result.report, result.base, result.next_grade
    return {
        "code": result.district.code,
        "name": result.district.name,
        "quarter": result.quarter.code,
        "status": result.status.value,
        "grade": result.grade.value if result.grade else None,
        "products_grade": result.products_level.value if result.products_level else None,
        "sales_grade": result.growth_level.value if result.growth_level else None,
        "latest_month": report.month.iso if report else None,
        "tab": report.tab if report else None,
        "row": report.row if report else None,
        "new_products": report.new_products if report else None,
        "sales": _number(report.sales) if report else None,
        "base_sales": _number(base.sales) if base else None,
        "base_months": [m.iso for m in base.months] if base else None,
        "base_whole_quarter_instead": base.whole_quarter_instead if base else None,
        "growth_pct": _number(result.growth_pct),
        "rounds": [
            {
                "month": r.month.iso,
                "due": r.due.isoformat(),
                "timeliness": r.timeliness.value,
                "days_late": r.days_late,
            }
            for r in result.rounds
        ],
        "next_grade": None
        if next_ is None
        else {
            "grade": next_.grade.value,
            "products_needed": next_.products_needed,
            "sales_needed": _number(next_.sales_needed),
            "growth_points_needed": _number(next_.growth_points_needed),
        },
        "notes": list(result.notes),
    }


def _rejection_json(rejection: Rejection) -> dict[str, Any]:
    return {
        "tab": rejection.tab,
        "row": rejection.row,
        "district": rejection.district_as_written,
        "reasons": list(rejection.reasons),
        "remedies": list(rejection.remedies),
        **_sender_json(rejection.sender),
        **_state_json(_quarter_of(rejection.month, rejection.sender), rejection.state, rejection.resolved_by),
    }


def _state_json(quarter: Quarter | None, state: ProblemState, resolved_by: str) -> dict[str, Any]:
    """A problem's place in its life: its quarter, and unresolved, resolved (by which row) or closed."""
    return {
        "quarter": quarter.code if quarter else None,
        "state": state.value,
        "resolved_by": resolved_by or None,
    }


def _sender_json(sender: Sender) -> dict[str, Any]:
    """Who sent a row and when: whom a coordinator calls about it."""
    submitted = sender.submitted.isoformat() if sender.submitted else None
    return {"submitted": submitted, "reporter": sender.reporter, "phone": sender.phone}


def as_json(outcome: Outcome) -> dict[str, Any]:
    rows = outcome.rows
    return {
        "quarter": outcome.quarter.code,
        "quarter_label": outcome.quarter.label,
        "as_of": outcome.as_of.isoformat(),
        "computed_at": outcome.computed_at.isoformat(),
        "regrade": outcome.regrade,
        "dry_run": outcome.dry_run,
        "rows": {
            "read": rows.read,
            "used": rows.used,
            "superseded": rows.superseded,
            "rejected": rows.rejected,
        },
        "districts": [district_json(r) for r in outcome.districts],
        "rejected": [_rejection_json(r) for r in outcome.rejections],
        "flagged": [
            {
                "tab": f.tab,
                "row": f.row,
                "district": f.district.name,
                "reason": f.reason,
                "remedy": f.remedy,
                **_sender_json(f.sender),
                **_state_json(_quarter_of(f.month, f.sender), f.state, f.resolved_by),
            }
            for f in outcome.flags
        ],
        "base_year_problems": [_rejection_json(r) for r in outcome.base_problems],
        "after_closing": outcome.after_closing,
        "grade_changes": [
            {"code": c.code, "name": c.name, "quarter": c.quarter, "before": c.before, "after": c.after}
            for c in outcome.changes
        ],
    }
