"""Shared builders: a spreadsheet in memory laid out as the Google Form writes it."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from otop_sync.cells import CellValue
from otop_sync.config import Config
from otop_sync.demo import BASE_HEADER, BASE_YEAR_TAB, RESPONSE_HEADER, RESPONSES_TAB
from otop_sync.grading import DistrictResult
from otop_sync.outcome import Outcome
from otop_sync.periods import BANGKOK
from otop_sync.settings import load_config, shipped_dir
from otop_sync.sources.memory import MemorySource
from otop_sync.sync import sync

CONFIG = load_config(shipped_dir("config"))


@pytest.fixture
def config() -> Config:
    return CONFIG


@pytest.fixture
def province(tmp_path: Path) -> Path:
    """A copy of the shipped configuration folder, to edit."""
    return Path(shutil.copytree(shipped_dir("config"), tmp_path / "config"))


def bkk(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=BANGKOK)  # type: ignore[misc]


def answer(
    submitted: CellValue,
    district: CellValue,
    month: CellValue,
    products: CellValue,
    sales: CellValue,
    remarks: CellValue = "",
) -> tuple[CellValue, ...]:
    """One row of the responses tab, in the form's column order."""
    return (submitted, district, month, products, sales, "ผู้รายงาน", "0812345678", remarks)


def base(district: str, period: str, amount: CellValue) -> tuple[CellValue, ...]:
    return (district, period, amount)


# Nong Khai's base year, FY 2566 Q4 (Jul-Sep 2023): 100,000 baht a month for every district.
Q4_2566 = tuple(
    base(d.name, m, 100000)
    for d in CONFIG.province.districts
    for m in ("ก.ค. 2566", "ส.ค. 2566", "ก.ย. 2566")
)


def sheet(
    answers: Sequence[Sequence[CellValue]], base_rows: Sequence[Sequence[CellValue]] = Q4_2566
) -> MemorySource:
    return MemorySource(
        {RESPONSES_TAB: [RESPONSE_HEADER, *answers], BASE_YEAR_TAB: [BASE_HEADER, *base_rows]}
    )


def run(
    source: MemorySource,
    as_of: datetime,
    *,
    config: Config = CONFIG,
    **options: object,
) -> Outcome:
    return sync(source, config=config, as_of=as_of, computed_at=as_of, **options)  # type: ignore[arg-type]


def district(outcome: Outcome, code: str) -> DistrictResult:
    return next(r for r in outcome.districts if r.district.code == code)


def D(text: str) -> Decimal:
    return Decimal(text)
