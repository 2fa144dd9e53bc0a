"""A quarter's life and a problem's life, end to end on a workbook: open, late (late reports and
corrections still count, with no operator), closed (grades final, a row that arrives after is listed and
never counted); a problem listed until a later report replaces it or its quarter closes."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from otop_sync.cli import main
from otop_sync.demo import RESPONSES_TAB
from otop_sync.periods import Quarter
from otop_sync.quarter_life import Life, closes_at, life_of, months_still_counting
from otop_sync.rules import Deadlines
from otop_sync.sources.xlsx_reader import open_workbook

from .conftest import bkk

Q4 = "ไตรมาส 4/2567"


@pytest.fixture
def workbook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "otop.xlsx"
    assert main(["demo", str(path)]) == 0
    return path


def add_rows(path: Path, *rows: tuple[Any, ...]) -> None:
    """Rows sent through the form since: appended to the responses tab, as Google Forms does."""
    book = load_workbook(path)
    for row in rows:
        book[RESPONSES_TAB].append([v.replace(tzinfo=None) if isinstance(v, datetime) else v for v in row])
    book.save(path)


def sync(path: Path, as_of: str, capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["run", "--workbook", str(path), "--as-of", as_of, "--no-brief", "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def quarterly_grade(path: Path, code: str, quarter: str) -> str:
    with open_workbook(path) as book:
        rows = book.tab("ผลรายไตรมาส").rows
    return str(next(r for r in rows if r[0] == code and r[2] == quarter)[8])


def problems(path: Path) -> list[tuple[Any, ...]]:
    with open_workbook(path) as book:
        return list(book.tab("ตรวจสอบข้อมูล").rows)


def report(day: datetime, district: str, month: str, products: int, sales: int) -> tuple[Any, ...]:
    return (day, district, month, products, sales, "นางสาวทดสอบ ส่งช้า", "0811111111", "")


def test_a_report_sent_after_the_last_deadline_counts_with_no_operator(
    workbook: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The letter's case: โพนพิสัย is C after the last round (16 September). A September report sent on
    # 20 September lifts it to A; the scheduled sync of 1 October must find it, not only a --regrade.
    sync(workbook, "2024-09-16T08:00", capsys)
    assert quarterly_grade(workbook, "4305", Q4).startswith("C")
    add_rows(workbook, report(bkk(2024, 9, 20, 10), "โพนพิสัย", "ก.ย. 2567", 3, 800000))
    result = sync(workbook, "2024-10-01T07:00", capsys)
    assert quarterly_grade(workbook, "4305", Q4).startswith("A")
    assert {"code": "4305", "name": "โพนพิสัย", "quarter": Q4, "before": "C", "after": "A"} in result[
        "grade_changes"
    ]


def test_a_report_sent_after_its_quarter_closed_is_listed_and_never_counted(
    workbook: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    sync(workbook, "2024-10-01T07:00", capsys)
    before = quarterly_grade(workbook, "4305", Q4)
    # Q4's last deadline is 15 September; with 30 days of grace it closes at the end of 15 October.
    add_rows(workbook, report(bkk(2024, 10, 20, 9), "โพนพิสัย", "ก.ย. 2567", 5, 900000))
    capsys.readouterr()
    assert main(["run", "--workbook", str(workbook), "--as-of", "2024-11-01T07:00", "--no-brief"]) == 0
    out = capsys.readouterr()
    assert "1 row(s) arrived after their quarter closed: listed as problems, not counted" in out.out
    assert "(1 after their quarter closed: listed, not counted)" in caplog.text  # the run's log line
    assert quarterly_grade(workbook, "4305", Q4) == before
    late = next(p for p in problems(workbook) if p[4].startswith("ส่งหลังไตรมาส 4/2567"))
    assert late[4] == ("ส่งหลังไตรมาส 4/2567ปิดรับรายงานเมื่อ 15/10/2567 23:59:59; ผลการประเมินของไตรมาสนี้ไม่เปลี่ยน")
    assert "grace_days" in late[5]
    assert late[-2:] == (Q4, "ไตรมาสปิดแล้ว")
    # A regrade reproduces the same cells: the closing holds for it too.
    sync(workbook, "2024-11-01T07:00", capsys, "--regrade")
    assert quarterly_grade(workbook, "4305", Q4) == before


def test_the_first_sync_after_closing_grades_the_quarter_one_last_time(
    workbook: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Sent on the last evening of the grace period, after the last scheduled sync of October had run:
    # it counts, whenever the next sync comes (here after an outage, on 3 November).
    sync(workbook, "2024-10-15T13:00", capsys)
    add_rows(workbook, report(bkk(2024, 10, 15, 21), "โพนพิสัย", "ก.ย. 2567", 3, 800000))
    result = sync(workbook, "2024-11-03T07:00", capsys)
    assert quarterly_grade(workbook, "4305", Q4).startswith("A")
    assert result["after_closing"] == 0
    # From then on the quarter is final: graded after it closed, it keeps its grade.
    sync(workbook, "2024-12-01T07:00", capsys)
    assert quarterly_grade(workbook, "4305", Q4).startswith("A")


def test_a_problem_is_listed_until_a_later_report_replaces_it_or_its_quarter_closes(
    workbook: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add_rows(workbook, report(bkk(2024, 9, 14, 9), "ท่าบ่อ", "ก.ย. 2567", "สาม", 990000))
    result = sync(workbook, "2024-09-15T08:00", capsys)
    typo = next(r for r in result["rejected"] if r["reasons"][0].startswith("จำนวนผลิตภัณฑ์ไม่ใช่ตัวเลข"))
    assert (typo["quarter"], typo["state"], typo["resolved_by"]) == ("2567Q4", "unresolved", None)
    add_rows(workbook, report(bkk(2024, 9, 15, 10), "ท่าบ่อ", "ก.ย. 2567", 3, 990000))
    result = sync(workbook, "2024-09-16T08:00", capsys)
    typo = next(r for r in result["rejected"] if r["row"] == typo["row"])
    assert typo["state"] == "resolved"
    assert typo["resolved_by"].endswith(f"แถวที่ {typo['row'] + 1}")
    capsys.readouterr()
    assert main(["announce", "--workbook", str(workbook), "--as-of", "2024-10-16T09:00", "--dry-run"]) == 0
    announced = capsys.readouterr().out
    assert "สาม" not in announced
    assert "แถวที่ ๓๕" not in announced
    # In the new fiscal year the demo's unresolved problems of 2567 are the closed quarter's: not announced.
    result = sync(workbook, "2025-01-05T07:00", capsys)
    assert {r["state"] for r in result["rejected"] if r["quarter"] == "2567Q4"} == {
        "resolved",
        "quarter_closed",
    }
    assert main(["announce", "--workbook", str(workbook), "--as-of", "2025-01-16T09:00", "--dry-run"]) == 0
    assert "ข้อมูลที่ต้องแก้ไข" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("offset", "closing"),
    [
        (0, bkk(2024, 10, 15, 23, 59, 59)),
        (1, bkk(2024, 11, 14, 23, 59, 59)),
        (2, bkk(2024, 12, 15, 23, 59, 59)),
    ],
)
def test_september_can_be_sent_until_the_fourth_quarter_closes(offset: int, closing: datetime) -> None:
    # With month_offset 1, September's report is due on 15 October: the form must still offer September
    # on 1 October, and until the quarter closes 30 days after that.
    deadlines = Deadlines(15, offset, 30)
    q4 = Quarter(2567, 4)
    september = q4.months[-1]
    assert closes_at(q4, deadlines) == closing
    assert september in months_still_counting(bkk(2024, 10, 1, 7), deadlines)
    assert september in months_still_counting(closing, deadlines)
    assert september not in months_still_counting(closing + timedelta(seconds=1), deadlines)
    assert life_of(q4, deadlines, bkk(2024, 9, 16)) is (Life.LATE if offset == 0 else Life.OPEN)
    assert life_of(q4, deadlines, closing + timedelta(seconds=1)) is Life.CLOSED
