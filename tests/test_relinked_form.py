"""SPEC.md, "More than one responses tab": a form linked again writes to a new tab and copies every earlier
answer into it. Every responses tab is read; the copies are read and superseded, never graded or listed;
rows are named by tab and row."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from otop_sync.cells import CellValue
from otop_sync.cli import main
from otop_sync.demo import BASE_HEADER, BASE_YEAR_TAB, RESPONSE_HEADER
from otop_sync.responses import Tab
from otop_sync.sources.contract import responses_tabs
from otop_sync.sources.memory import MemorySource
from otop_sync.sources.workbook import write_new_workbook
from otop_sync.sync import sync

from .conftest import CONFIG, Q4_2566, answer, bkk, district, run
from .fake_sheets import FakeSheetsAPI, service_account_file
from .test_google import KEY, api_value, source


def test_every_numbered_responses_tab_is_found_oldest_link_first() -> None:
    titles = [
        "สรุปผล",
        "Form Responses 10",
        "การตอบกลับแบบฟอร์ม  2",
        "form responses 1",
        "การตอบกลับแบบฟอร์ม 1",
        "Other 3",
    ]
    assert responses_tabs(titles, CONFIG.form.tabs.responses) == [
        "form responses 1",
        "การตอบกลับแบบฟอร์ม 1",
        "การตอบกลับแบบฟอร์ม  2",
        "Form Responses 10",
    ]
    assert responses_tabs(["คำตอบ", "คำตอบ 2", "คำตอบอื่น"], ["คำตอบ"]) == ["คำตอบ", "คำตอบ 2"]


AUGUST = answer(bkk(2024, 8, 10, 9), "ท่าบ่อ", "ส.ค. 2567", 1, 300000)
BAD = answer(bkk(2024, 9, 9, 9), "สังคม", "ก.ย. 2567", 1, "ห้าหมื่นบาท")
OLD_ONLY = answer(bkk(2024, 9, 1, 9), "โพนพิสัย", "ส.ค. 2567", 2, 250000)  # deleted from the new tab by hand
SEPTEMBER = answer(bkk(2024, 9, 12, 9), "ท่าบ่อ", "ก.ย. 2567", 3, 400000)  # only in the new tab
UNKNOWN = answer(bkk(2024, 9, 13, 9), "บึงกาฬ", "ก.ย. 2567", 1, 100000)
OLD_TAB, NEW_TAB = "การตอบกลับแบบฟอร์ม 1", "การตอบกลับแบบฟอร์ม 2"
TABS = {
    OLD_TAB: [RESPONSE_HEADER, AUGUST, BAD, OLD_ONLY],
    # Google copies the earlier answers into the new tab, then the new ones come.
    NEW_TAB: [RESPONSE_HEADER, AUGUST, BAD, SEPTEMBER, UNKNOWN],
    BASE_YEAR_TAB: [BASE_HEADER, *Q4_2566],
}
AS_OF = bkk(2024, 9, 16, 8)


def naive(row: tuple[CellValue, ...]) -> tuple[CellValue, ...]:
    return tuple(v.replace(tzinfo=None) if isinstance(v, datetime) else v for v in row)


def test_copies_are_superseded_and_later_reports_in_the_new_tab_count() -> None:
    outcome = run(MemorySource(TABS), AS_OF)
    # Read: 3 in the old tab (2 of them copies) and 4 in the new one.
    assert (outcome.rows.read, outcome.rows.used, outcome.rows.superseded, outcome.rows.rejected) == (
        7,
        2,
        3,
        2,
    )
    tha_bo = district(outcome, "4302")
    assert tha_bo.report is not None
    assert (tha_bo.report.tab, tha_bo.report.row) == (NEW_TAB, 4)
    assert [r.timeliness.value for r in tha_bo.rounds] == ["not_reported", "on_time", "on_time"]
    phon_phisai = district(outcome, "4305")
    assert phon_phisai.report is not None
    assert (phon_phisai.report.tab, phon_phisai.report.row) == (OLD_TAB, 4)
    assert [(r.tab, r.row) for r in outcome.rejections] == [(NEW_TAB, 3), (NEW_TAB, 5)]


def test_the_problems_tab_names_the_tab_and_lists_no_copy() -> None:
    source = MemorySource(TABS)
    run(source, AS_OF)
    problems = source.tabs["ตรวจสอบข้อมูล"]
    assert [row[:3] for row in problems[1:]] == [[3, NEW_TAB, "สังคม"], [5, NEW_TAB, "บึงกาฬ"]]


def test_the_json_names_the_tab_of_every_rejected_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "relinked.xlsx"
    # A workbook holds times without a zone (Bangkok time).
    write_new_workbook(path, [Tab(title, tuple(map(naive, rows))) for title, rows in TABS.items()])
    assert main(["run", "--workbook", str(path), "--as-of", AS_OF.isoformat(), "--json", "--no-brief"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["rows"] == {"read": 7, "used": 2, "superseded": 3, "rejected": 2}
    assert [(r["tab"], r["row"]) for r in result["rejected"]] == [(NEW_TAB, 3), (NEW_TAB, 5)]
    tha_bo = next(d for d in result["districts"] if d["code"] == "4302")
    assert (tha_bo["tab"], tha_bo["row"]) == (NEW_TAB, 4)


def test_a_relinked_form_syncs_through_google_with_the_real_rules(tmp_path: Path) -> None:
    fake = FakeSheetsAPI()
    fake.add_spreadsheet(KEY, {t: [[api_value(v) for v in row] for row in rows] for t, rows in TABS.items()})
    src = source(fake, Path(service_account_file(tmp_path)))
    outcome = sync(src, config=CONFIG, as_of=AS_OF, computed_at=AS_OF)
    assert (outcome.rows.read, outcome.rows.superseded, outcome.rows.rejected) == (7, 3, 2)
    batch_get = next(c for c in fake.log if c.kind == "values:batchGet")
    assert batch_get.params["ranges"][:2] == [f"'{OLD_TAB}'", f"'{NEW_TAB}'"]
    problems = fake.spreadsheets[KEY].table("ตรวจสอบข้อมูล")
    assert [row[:2] for row in problems[1:]] == [[3, NEW_TAB], [5, NEW_TAB]]
    assert fake.violations == []
