"""The grading vocabulary: grades and their conditions, the rubric of a fiscal year, a district, the
deadlines of a round and the checks of a report. Pure, as the letter words them; `config.py` reads them
from the TOML files, and the core grades with them without knowing where they came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Literal

Operator = Literal[">=", ">"]


class Grade(StrEnum):
    A = "A"
    B = "B"
    C = "C"
    D = "D"


@dataclass(frozen=True)
class Condition:
    operator: Operator
    value: Decimal

    def holds(self, measured: Decimal) -> bool:
        # Compared at full precision: +2.004 % is more than 2 %, exactly +2 % is not.
        return measured >= self.value if self.operator == ">=" else measured > self.value


@dataclass(frozen=True)
class GradeRule:
    grade: Grade
    products: Condition
    growth_pct: Condition


@dataclass(frozen=True)
class Rubric:
    from_fiscal_year: int
    base_years_back: int
    compare_same_months: bool
    grades: tuple[GradeRule, ...]  # best first
    fallback: Grade


@dataclass(frozen=True)
class District:
    code: str
    name: str
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class Checks:
    suspicious_growth_pct: Decimal
    stale_after_months: int


@dataclass(frozen=True)
class Deadlines:
    due_day: int
    month_offset: int
    # Days after a quarter's last deadline during which late reports and corrections still count; then
    # the quarter is closed and its grades are final (SPEC: "A quarter's life").
    grace_days: int = 30
