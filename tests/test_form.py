"""`otop-sync form`: the Google Form the configuration expects, and a form built from it is read whole."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import time_machine

from otop_sync.cells import read_month
from otop_sync.cli import main
from otop_sync.demo import BASE_YEAR_TAB, demo_tabs
from otop_sync.periods import Month
from otop_sync.responses import Tab
from otop_sync.sources.workbook import write_new_workbook

from .conftest import CONFIG, bkk


@pytest.fixture(autouse=True)
def early_in_fiscal_year_2567() -> Iterator[None]:
    """The form offers the months still counting as of today: here, fiscal year 2567's twelve."""
    with time_machine.travel(bkk(2023, 12, 1, 9)):
        yield


def printed_form(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["form", "--fiscal-year", "2567", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def test_the_form_lists_every_question_as_the_reader_finds_it(capsys: pytest.CaptureFixture[str]) -> None:
    form = printed_form(capsys)
    questions = {q["field"]: q for q in form["questions"]}
    assert [q["title"] for q in form["questions"]] == [CONFIG.form.columns[f][0] for f in questions]
    assert questions["district"]["type"] == "dropdown"
    assert questions["district"]["choices"] == [d.name for d in CONFIG.province.districts]
    assert questions["month"]["choices"][0] == "ตุลาคม 2566"
    assert questions["month"]["choices"][-1] == "กันยายน 2567"
    assert len(questions["month"]["choices"]) == 12
    assert questions["sales"]["validation"] == {
        "condition": "greater_than_or_equal",
        "value": 0,
        "message": "กรอกตัวเลขตั้งแต่ 0 ขึ้นไป เช่น 50000",
    }
    assert questions["new_products"]["validation"]["condition"] == "whole_number"
    assert [f for f, q in questions.items() if q["required"]] == [
        "district",
        "month",
        "new_products",
        "sales",
    ]
    assert form["timestamp_title"] == "ประทับเวลา"


def test_the_markdown_names_each_title_type_and_choice(capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["form", "--fiscal-year", "2568"]) == 0
    text = capsys.readouterr().out
    assert "1. **อำเภอ** — เลื่อนลง (Dropdown), จำเป็น" in text
    assert "ตุลาคม 2567, พฤศจิกายน 2567" in text
    assert "การตรวจสอบคำตอบ: ตัวเลข → มากกว่าหรือเท่ากับ 0" in text
    assert "7. **หมายเหตุ** — ย่อหน้า, ไม่บังคับ" in text


def test_a_bad_fiscal_year_is_refused_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["form", "--fiscal-year", "2024"])
    # A year that looks Christian Era is refused with the year meant (SPEC: years are never guessed).
    assert "'2024' looks like a Christian-Era year: fiscal years are Buddhist Era; did you mean 2567?" in (
        capsys.readouterr().err
    )


def test_answers_from_the_printed_form_pass_check_and_every_choice_is_read(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    form = printed_form(capsys)
    header = (form["timestamp_title"], *(q["title"] for q in form["questions"]))
    districts, months = (q["choices"] for q in form["questions"][:2])
    # Every district picks every month of the fiscal year, as the dropdowns offer them, on its 10th.
    rows = [
        (_tenth(month), district, month, 1, 50000, "ผู้รายงาน", "0812345678", "")
        for month in months
        for district in districts
    ]
    path = tmp_path / "from-form.xlsx"
    base = next(t for t in demo_tabs() if t.title == BASE_YEAR_TAB)
    write_new_workbook(path, (Tab(form["responses_tab"], (header, *rows)), base))
    monkeypatch.chdir(tmp_path)
    assert main(["check", "--workbook", str(path)]) == 0
    capsys.readouterr()
    assert main(["run", "--workbook", str(path), "--as-of", "2024-09-30T12:00", "--json", "--dry-run"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["rejected"] == []
    assert result["rows"]["read"] == len(rows) == 12 * len(districts)


def _tenth(month_choice: str) -> datetime:
    """The 10th of the month a choice names, 09:00: a workbook's times are Bangkok's, without a zone."""
    month = read_month(month_choice)
    assert isinstance(month, Month)
    return datetime(month.year, month.month, 10, 9)
