"""Grade every district for a quarter: the report that counts, timeliness, growth, grade, what is next.

Pure: reports, base-year sales, the rubric and "now" are passed in. The rules are those of SPEC.md:
the latest reported month wins (then the latest timestamp); growth is compared at full precision over
the same months of the base year; a district gets the best grade whose both conditions hold.
"""

from __future__ import annotations

import decimal
import functools
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from enum import StrEnum
from itertools import pairwise

from otop_sync import remedies
from otop_sync.cells import REPLACEMENT
from otop_sync.periods import Month, Quarter, days_late, deadline, format_be_datetime, start_of
from otop_sync.quarter_life import ProblemState
from otop_sync.responses import NO_SENDER, BaseYear, Report, Sender
from otop_sync.rules import Checks, Condition, Deadlines, District, Grade, GradeRule, Rubric

SATANG = Decimal("0.01")
_PRECISION = decimal.Context(prec=40)


class Status(StrEnum):
    GRADED = "graded"
    NOT_REPORTED = "not_reported"
    NO_BASE = "no_base"
    NO_RUBRIC = "no_rubric"


class Timeliness(StrEnum):
    ON_TIME = "on_time"
    LATE = "late"
    NOT_REPORTED = "not_reported"
    PENDING = "pending"


@dataclass(frozen=True)
class Round:
    """One monthly round of reporting, as it stands at "now"."""

    month: Month
    due: datetime
    timeliness: Timeliness
    days_late: int = 0


@dataclass(frozen=True)
class NextGrade:
    grade: Grade
    products_needed: int
    sales_needed: Decimal  # more quarter-to-date baht to lift growth past the threshold
    growth_points_needed: Decimal  # percentage points short of the threshold (0 when past it)
    growth_condition: Condition


@dataclass(frozen=True)
class Base:
    """The base-year sales a report is compared with."""

    sales: Decimal | None  # None: missing
    months: tuple[Month, ...]
    whole_quarter_instead: bool  # the same months were asked for, but only a quarter total exists


@dataclass(frozen=True)
class DistrictResult:
    district: District
    quarter: Quarter
    status: Status
    report: Report | None = None
    base: Base | None = None
    growth_pct: Decimal | None = None
    grade: Grade | None = None
    products_level: Grade | None = None
    growth_level: Grade | None = None
    next_grade: NextGrade | None = None
    rounds: tuple[Round, ...] = ()
    notes: tuple[str, ...] = ()  # in Thai, for the remarks column: why there is no grade, what was compared


@dataclass(frozen=True)
class Flag:
    """A readable row that is used, but that a coordinator should look at."""

    tab: str
    row: int
    district: District
    reason: str
    remedy: str = ""
    sender: Sender = NO_SENDER
    month: Month | None = None
    state: ProblemState = ProblemState.UNRESOLVED  # set by the sync
    resolved_by: str = ""

    @classmethod
    def on(cls, report: Report, reason: str, remedy: str) -> Flag:
        return cls(report.tab, report.row, report.district, reason, remedy, report.sender, report.month)


@dataclass(frozen=True)
class Selection:
    """The valid rows by district and quarter. One row of each group counts (the latest, see
    ``grade_district``); the others are superseded."""

    by_district_quarter: Mapping[tuple[str, Quarter], tuple[Report, ...]]

    @property
    def used(self) -> int:
        return len(self.by_district_quarter)

    @property
    def superseded(self) -> int:
        return sum(len(rows) for rows in self.by_district_quarter.values()) - self.used


def select_reports(reports: Iterable[Report]) -> Selection:
    grouped: dict[tuple[str, Quarter], list[Report]] = defaultdict(list)
    for report in reports:
        grouped[(report.district.code, report.quarter)].append(report)
    return Selection({key: tuple(rows) for key, rows in grouped.items()})


def _recency(report: Report) -> tuple[Month, datetime, str, int]:
    # A later month wins; for the same month a resubmission corrects the earlier one.
    return (report.month, report.submitted, report.tab, report.row)


def grade_district(
    district: District,
    quarter: Quarter,
    *,
    reports: Sequence[Report],
    base_year: BaseYear,
    rubric: Rubric | None,
    deadlines: Deadlines,
    as_of: datetime,
) -> DistrictResult:
    """The result of one district for one quarter; `reports` are its valid rows of that quarter."""
    rounds = rounds_of(quarter, reports, deadlines=deadlines, as_of=as_of)
    if not reports:
        return DistrictResult(district, quarter, Status.NOT_REPORTED, rounds=rounds)
    report = max(reports, key=_recency)
    if rubric is None:
        note = f"ไม่มีเกณฑ์สำหรับปีงบประมาณ {quarter.fiscal_year} ในไฟล์ rubric.toml"
        return DistrictResult(district, quarter, Status.NO_RUBRIC, report, rounds=rounds, notes=(note,))
    base = compare_base(district.code, quarter, report.month, base_year, rubric)
    notes = _base_notes(base)
    if base.sales is None or base.sales == 0:
        return DistrictResult(district, quarter, Status.NO_BASE, report, base, rounds=rounds, notes=notes)
    growth = growth_pct(report.sales, base.sales)
    grade = grade_of(rubric, report.new_products, growth)
    return DistrictResult(
        district=district,
        quarter=quarter,
        status=Status.GRADED,
        report=report,
        base=base,
        growth_pct=growth,
        grade=grade,
        products_level=_level(rubric, lambda rule: rule.products.holds(Decimal(report.new_products))),
        growth_level=_level(rubric, lambda rule: rule.growth_pct.holds(growth)),
        next_grade=next_grade(rubric, grade, report.new_products, report.sales, base.sales, growth),
        rounds=rounds,
        notes=notes,
    )


def growth_pct(sales: Decimal, base: Decimal) -> Decimal:
    """(sales - base) / base x 100, exact enough that +5 % is 5, not 5.000000000000007."""
    return _PRECISION.multiply(_PRECISION.divide(sales - base, base), Decimal(100))


def grade_of(rubric: Rubric, products: int, growth: Decimal) -> Grade:
    for rule in rubric.grades:
        if rule.products.holds(Decimal(products)) and rule.growth_pct.holds(growth):
            return rule.grade
    return rubric.fallback


def _level(rubric: Rubric, reaches: Callable[[GradeRule], bool]) -> Grade:
    return next((rule.grade for rule in rubric.grades if reaches(rule)), rubric.fallback)


def next_grade(
    rubric: Rubric, grade: Grade, products: int, sales: Decimal, base: Decimal, growth: Decimal
) -> NextGrade | None:
    """What the district still needs for the grade above its own; None at the top."""
    order = [rule.grade for rule in rubric.grades]
    position = order.index(grade) if grade in order else len(order)
    if position == 0:
        return None
    rule = rubric.grades[position - 1]
    return NextGrade(
        grade=rule.grade,
        products_needed=_products_needed(rule.products, products),
        sales_needed=_sales_needed(rule.growth_pct, sales, base, growth),
        growth_points_needed=max(Decimal(0), rule.growth_pct.value - growth),
        growth_condition=rule.growth_pct,
    )


def _products_needed(condition: Condition, products: int) -> int:
    if condition.holds(Decimal(products)):
        return 0
    floor = condition.value.to_integral_value(ROUND_FLOOR)
    smallest = condition.value.to_integral_value(ROUND_CEILING) if condition.operator == ">=" else floor + 1
    return int(smallest) - products


def _sales_needed(condition: Condition, sales: Decimal, base: Decimal, growth: Decimal) -> Decimal:
    """Baht to add so that growth meets the condition: to the satang, "more than" means one satang more."""
    if condition.holds(growth):
        return Decimal(0)
    target = _PRECISION.multiply(base, 1 + condition.value / 100)
    if condition.operator == ">":
        smallest = target.quantize(SATANG, rounding=ROUND_FLOOR) + SATANG
    else:
        smallest = target.quantize(SATANG, rounding=ROUND_CEILING)
    return max(Decimal(0), smallest - sales)


def compare_base(code: str, quarter: Quarter, latest: Month, base_year: BaseYear, rubric: Rubric) -> Base:
    """The base-year sales of the same months (rule 3), or the whole quarter where that is all there is."""
    base_quarter = quarter.same_quarter_years_before(rubric.base_years_back)
    count = quarter.months.index(latest) + 1 if rubric.compare_same_months else 3
    months = base_quarter.months[:count]
    values = [base_year.monthly[(code, m)] for m in months if (code, m) in base_year.monthly]
    if len(values) == len(months):
        return Base(sum(values, Decimal(0)), months, whole_quarter_instead=False)
    total = base_year.quarterly.get((code, base_quarter))
    if total is not None:
        return Base(total, base_quarter.months, whole_quarter_instead=count < 3)
    return Base(None, months, whole_quarter_instead=False)


def _base_notes(base: Base) -> tuple[str, ...]:
    span = _span(base.months)
    if base.sales is None:
        return (f"ไม่มียอดจำหน่ายปีฐานของ {span} จึงยังไม่จัดระดับ",)
    if base.sales == 0:
        return (f"ยอดจำหน่ายปีฐานของ {span} เป็นศูนย์ คำนวณอัตราเพิ่มไม่ได้ จึงยังไม่จัดระดับ",)
    if base.whole_quarter_instead:
        return (f"ปีฐานมีเฉพาะยอดรวมทั้งไตรมาส จึงเทียบกับทั้งไตรมาส ({span})",)
    return ()


def _span(months: Sequence[Month]) -> str:
    if len(months) == 1:
        return months[0].label
    return f"{months[0].label} – {months[-1].label}"


def rounds_of(
    quarter: Quarter, reports: Sequence[Report], *, deadlines: Deadlines, as_of: datetime
) -> tuple[Round, ...]:
    """Timeliness of every month of the quarter that has begun by `as_of`."""
    rounds = []
    for month, due in _begun(quarter, deadlines, as_of):
        submitted = [r.submitted for r in reports if r.month == month]
        if submitted:
            first = min(submitted)
            if first > due:
                rounds.append(Round(month, due, Timeliness.LATE, days_late(first, due)))
            else:
                rounds.append(Round(month, due, Timeliness.ON_TIME))
        else:
            rounds.append(Round(month, due, Timeliness.NOT_REPORTED if as_of > due else Timeliness.PENDING))
    return tuple(rounds)


@functools.lru_cache(maxsize=64)  # the same for every district: worked out once per quarter and run
def _begun(quarter: Quarter, deadlines: Deadlines, as_of: datetime) -> tuple[tuple[Month, datetime], ...]:
    """The quarter's months that have begun by `as_of`, each with its deadline."""
    return tuple(
        (month, deadline(month, due_day=deadlines.due_day, month_offset=deadlines.month_offset))
        for month in quarter.months
        if start_of(month) <= as_of
    )


def flag_reports(
    selection: Selection, results: Iterable[DistrictResult], *, checks: Checks
) -> tuple[Flag, ...]:
    """Readable rows that look wrong: falling quarter-to-date figures, extreme growth, long-closed months."""
    flags: list[Flag] = []
    for rows in selection.by_district_quarter.values():
        flags.extend(_falling_figures(rows))
        flags.extend(_stale(row, checks.stale_after_months) for row in rows if _is_stale(row, checks))
        flags.extend(
            Flag.on(row, "คำตอบมีอักขระที่อ่านไม่ได้ (แสดงเป็น �)", remedies.UNREADABLE_TEXT)
            for row in rows
            if any(REPLACEMENT in text for text in (row.reporter, row.phone, row.remarks))
        )
    for result in results:
        if result.growth_pct is not None and abs(result.growth_pct) > checks.suspicious_growth_pct:
            assert result.report is not None
            reason = f"อัตราเพิ่มร้อยละ {result.growth_pct:+.2f} เกินร้อยละ ±{checks.suspicious_growth_pct}"
            flags.append(Flag.on(result.report, reason, remedies.EXTREME_GROWTH))
    return tuple(sorted(flags, key=lambda f: (f.tab, f.row, f.reason)))


def _falling_figures(rows: Sequence[Report]) -> list[Flag]:
    latest_by_month: dict[Month, Report] = {}
    for row in sorted(rows, key=_recency):
        latest_by_month[row.month] = row
    ordered = [latest_by_month[m] for m in sorted(latest_by_month)]
    flags = []
    for earlier, later in pairwise(ordered):
        if later.new_products < earlier.new_products:
            flags.append(
                Flag.on(
                    later,
                    f"จำนวนผลิตภัณฑ์สะสมลดลงจาก {earlier.month.label} "
                    f"({earlier.new_products} → {later.new_products})",
                    remedies.FALLING,
                )
            )
        if later.sales < earlier.sales:
            flags.append(
                Flag.on(
                    later,
                    f"ยอดจำหน่ายสะสมลดลงจาก {earlier.month.label} "
                    f"({earlier.sales:,.2f} → {later.sales:,.2f} บาท)",
                    remedies.FALLING,
                )
            )
    return flags


def _is_stale(report: Report, checks: Checks) -> bool:
    return Month.of(report.submitted).months_since(report.month) >= checks.stale_after_months


def _stale(report: Report, months: int) -> Flag:
    return Flag.on(
        report,
        f"รายงานของ {report.month.label} ส่งเมื่อ {format_be_datetime(report.submitted)} "
        f"ช้ากว่าเดือนที่รายงาน {months} เดือนขึ้นไป (รอบปิดไปนานแล้ว)",
        remedies.STALE,
    )
