"""A year, replayed: the real job plan (schedule.toml as shipped, APScheduler's own triggers, the scheduler's
start-up, the real App and Runner) driven through fiscal year 2568 and into 2569 on an injected clock,
against a workbook and LINE's fake on loopback. Reports on time, late inside the grace period and after
closing, a corrected row, a typo fixed the next day, an outage across a deadline, a restart between a due
time and its run, the fiscal-year rollover and a rubric version change; then ten years of messages, to
show the state files stay bounded."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from otop_sync.app import App
from otop_sync.brief_pdf import WarmRenderer
from otop_sync.config import Config, ScheduledJob
from otop_sync.demo import BASE_HEADER, BASE_YEAR_TAB, RESPONSE_HEADER, RESPONSES_TAB
from otop_sync.jobs import PlannedJob, fire_times, plan_jobs
from otop_sync.periods import Month
from otop_sync.responses import Tab
from otop_sync.scheduler import Runner, start_up
from otop_sync.settings import load_config
from otop_sync.sources.workbook import write_new_workbook
from otop_sync.sources.xlsx_reader import open_workbook

from .builders import edit
from .conftest import bkk
from .fake_line import GROUP, OPERATOR, TOKEN, FakeLine
from .fake_sheets import LoopbackServer
from .test_scheduler import config_in

START, END = bkk(2024, 10, 1), bkk(2025, 10, 21)
OUTAGE = (bkk(2025, 3, 14, 12), bkk(2025, 3, 16, 10))  # the workbook's share is gone across the deadline
DOWN = (bkk(2025, 5, 16, 6), bkk(2025, 5, 16, 9, 30))  # the machine restarts between 07:00 and 09:00


def report(when: datetime, district: str, month: str, products: object, sales: int) -> tuple[object, ...]:
    return (when.replace(tzinfo=None), district, month, products, sales, "ผู้รายงาน", "0812345678", "")


def fiscal_months(year: int) -> list[Month]:
    return [Month(year - 544, m) for m in (10, 11, 12)] + [Month(year - 543, m) for m in range(1, 10)]


def responses() -> list[tuple[object, ...]]:
    rows = []
    # เมืองหนองคาย: every month on the 10th, 3 products and +7 % (A under the letter's rubric, B under
    # fiscal year 2569's, which asks more than 8 % for an A).
    for month in [*fiscal_months(2568), Month(2025, 10)]:
        k = (month.month - 1) % 3 + 1
        rows.append(report(bkk(month.year, month.month, 10, 9), "เมืองหนองคาย", month.label, 3, 107_000 * k))
    # A corrected row: November's sales typed as 10,000 on the 10th (before that month's own report, so
    # that the row at 9:00 stands alone), then sent again on the 12th.
    rows.append(report(bkk(2024, 11, 10, 8), "เมืองหนองคาย", "พฤศจิกายน 2567", 3, 10_000))
    rows.append(report(bkk(2024, 11, 12, 8), "เมืองหนองคาย", "พฤศจิกายน 2567", 3, 214_000))
    # ท่าบ่อ: December's report comes on 5 January, late but inside Q1's grace period (to 14 January).
    rows += [
        report(bkk(2024, 10, 10, 10), "ท่าบ่อ", "ตุลาคม 2567", 1, 103_000),
        report(bkk(2024, 11, 10, 10), "ท่าบ่อ", "พฤศจิกายน 2567", 2, 206_000),
        report(bkk(2025, 1, 5, 10), "ท่าบ่อ", "ธันวาคม 2567", 3, 330_000),
    ]
    # โพนพิสัย: December's report comes on 20 January, after Q1 closed: listed, never counted.
    rows += [
        report(bkk(2024, 10, 10, 11), "โพนพิสัย", "ตุลาคม 2567", 1, 103_000),
        report(bkk(2024, 11, 10, 11), "โพนพิสัย", "พฤศจิกายน 2567", 1, 206_000),
        report(bkk(2025, 1, 20, 11), "โพนพิสัย", "ธันวาคม 2567", 3, 330_000),
    ]
    # สังคม: a typo in February, fixed the next day.
    rows += [
        report(bkk(2025, 1, 10, 12), "สังคม", "มกราคม 2568", 1, 101_000),
        report(bkk(2025, 2, 10, 12), "สังคม", "กุมภาพันธ์ 2568", "สาม", 210_000),
        report(bkk(2025, 2, 11, 12), "สังคม", "กุมภาพันธ์ 2568", 3, 210_000),
    ]
    return sorted(rows, key=lambda r: r[0])  # type: ignore[arg-type, return-value]


def base_year() -> list[tuple[object, ...]]:
    names = ["เมืองหนองคาย", "ท่าบ่อ", "โพนพิสัย", "ศรีเชียงใหม่", "สังคม", "สระใคร", "เฝ้าไร่", "รัตนวาปี", "โพธิ์ตาก"]
    return [(name, m.label, 100_000) for year in (2567, 2568) for m in fiscal_months(year) for name in names]


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Replay:
    config: Config
    workbook: Path
    line: FakeLine
    clock: Clock
    runner: Runner
    ran: list[tuple[datetime, str, bool]] = field(default_factory=list)

    def run(self, moment: datetime, job: ScheduledJob) -> None:
        self.clock.now = moment
        outage = OUTAGE[0] <= moment < OUTAGE[1]
        hidden = self.workbook.with_suffix(".away")
        if outage and self.workbook.exists():
            self.workbook.rename(hidden)
        elif not outage and hidden.exists():
            hidden.rename(self.workbook)
        self.ran.append((moment, job.name, self.runner.run_job(job)))


def due(planned: list[PlannedJob], start: datetime, end: datetime) -> list[tuple[datetime, PlannedJob]]:
    """Every fire time of every job in (start, end], by APScheduler's own triggers, in order."""
    moments = [(m, item) for item in planned for m in fire_times(item.trigger, start, end)]
    return sorted(moments, key=lambda pair: (pair[0], [p.job.name for p in planned].index(pair[1].job.name)))


@pytest.fixture
def replay(tmp_path: Path) -> Iterator[Replay]:
    folder = config_in(tmp_path)
    edit(folder, "province.toml", 'group_id = ""', f'group_id = "{GROUP}"')
    edit(folder, "province.toml", 'alert_to = ""', f'alert_to = "{OPERATOR}"')
    # Fiscal year 2569 asks more than 8 % for an A.
    rubric = (folder / "rubric.toml").read_text(encoding="utf-8")
    newer = rubric[rubric.index("[[version]]") :].replace(
        "from_fiscal_year = 2567", "from_fiscal_year = 2569"
    )
    (folder / "rubric.toml").write_text(rubric + "\n" + newer.replace('value = "5"', 'value = "8"', 1))
    workbook = tmp_path / "otop.xlsx"
    write_new_workbook(
        workbook,
        [
            Tab(RESPONSES_TAB, (RESPONSE_HEADER, *responses())),
            Tab(BASE_YEAR_TAB, (BASE_HEADER, *base_year())),
        ],
    )
    fake = FakeLine()
    with LoopbackServer(fake) as server:  # type: ignore[arg-type]
        environ = {"LINE_CHANNEL_ACCESS_TOKEN": TOKEN, "OTOP_SYNC_LINE_ENDPOINT": server.url}
        config = load_config(folder, environ)
        clock = Clock()
        renderer = WarmRenderer()
        app = App(config, clock=clock, renderer=renderer)
        runner = Runner(
            app, make_target=lambda: app.target(command="schedule", workbook=workbook, unattended=True)
        )
        try:
            yield Replay(config, workbook, fake, clock, runner)
        finally:
            renderer.close()
        assert fake.violations == []


def quarterly(path: Path) -> dict[tuple[str, str], tuple[Any, ...]]:
    with open_workbook(path) as book:
        return {(str(r[1]), str(r[2])): r for r in book.tab("ผลรายไตรมาส").rows[1:]}


def test_a_year_replayed_through_the_real_job_plan(replay: Replay) -> None:
    started = time.monotonic()
    planned = plan_jobs(replay.config)
    grace = timedelta(hours=replay.config.service.catch_up_hours)
    expected = []
    for moment, item in due(planned, START, END):
        if DOWN[0] <= moment < DOWN[1]:
            continue
        if moment >= DOWN[1] and not any(m >= DOWN[1] for m, _ in expected):
            # The service starts again: the scheduler's own start-up decides what to make up, once.
            replay.clock.now = DOWN[1]
            for job in start_up(planned, replay.runner.book, now=DOWN[1], grace=grace):
                expected.append((DOWN[1], job.name))
                replay.run(DOWN[1], job)
        expected.append((moment, item.job.name))
        replay.run(moment, item.job)
    took = time.monotonic() - started

    # Every expected run happened exactly once; the restart made up the 07:00 sync and the 09:00
    # announcement of 16 May, each once.
    assert [(m, name) for m, name, _ in replay.ran] == expected
    assert Counter(expected).most_common(1)[0][1] == 1
    assert (DOWN[1], "sync") in expected
    assert (DOWN[1], "announce") in expected
    failed = [(m, name) for m, name, ok in replay.ran if not ok]
    assert failed
    assert all(OUTAGE[0] <= m < OUTAGE[1] for m, _ in failed)  # only the outage failed anything

    # Every report inside the grace period counts in its quarter's final grade; none after it does.
    rows = quarterly(replay.workbook)
    assert str(rows[("ท่าบ่อ", "ไตรมาส 1/2568")][8]).startswith("A")  # December's, sent 5 January
    assert str(rows[("โพนพิสัย", "ไตรมาส 1/2568")][8]).startswith("C")  # December's, 20 January: not
    assert str(rows[("เมืองหนองคาย", "ไตรมาส 1/2568")][8]).startswith("A")  # November corrected
    # The rubric of fiscal year 2569 grades its first quarter: +7 % is a B now.
    assert str(rows[("เมืองหนองคาย", "ไตรมาส 4/2568")][8]).startswith("A")
    assert str(rows[("เมืองหนองคาย", "ไตรมาส 1/2569")][8]).startswith("B")
    with open_workbook(replay.workbook) as book:
        problems = book.tab("ตรวจสอบข้อมูล").rows
    late = [p for p in problems if str(p[4]).startswith("ส่งหลังไตรมาส 1/2568")]
    assert [(p[2], p[-1]) for p in late] == [("โพนพิสัย", "ไตรมาสปิดแล้ว")]

    # Reminders and announcements: each sent once, to the group; the typo fixed the next day is not news.
    sent = [b for b in replay.line.delivered if b["to"] == GROUP]
    texts = [str(b["messages"][0]["text"]) for b in sent]
    pushes = [r for r in replay.line.requests if r.url.endswith("/push") and r.body["to"] == GROUP]
    keys = [r.headers["X-Line-Retry-Key"] for r in pushes]
    assert len(set(keys)) == len(keys) == len(sent)  # each message once: one try, one retry key
    messaging = [name for _, name, ok in replay.ran if ok and name in ("remind", "announce")]
    assert len(sent) == len(messaging)  # every successful run sent its message (some never report)
    february = next(t for t in texts if t.startswith("📣") and "รอบเดือน ก.พ. ๒๕๖๘" in t)
    assert "สาม" not in february

    # Every failure streak sent one alert, and one more when its job worked again.
    alerts = [str(b["messages"][0]["text"]) for b in replay.line.delivered if b["to"] == OPERATOR]
    failing_jobs = {name for _, name in failed}
    assert sorted(a.split("“")[1].split("”")[0] for a in alerts if a.startswith("⚠️")) == sorted(failing_jobs)
    assert sorted(a.split("“")[1].split("”")[0] for a in alerts if a.startswith("✅")) == sorted(failing_jobs)

    # The briefs of the year: every edition day's file, and brief-latest the newest.
    briefs = sorted(p.name for p in replay.config.brief.output.glob("brief-25*.pdf"))
    assert "brief-2568Q1-2567-12-16.pdf" in briefs
    latest = json.loads((replay.config.brief.output / "brief-latest.json").read_text(encoding="utf-8"))
    assert latest["edition"] == "brief-2569Q1-2568-10-16"
    print(f"replayed {len(replay.ran)} runs in {took:.1f} s")  # the note quotes it (pytest -s)


def test_ten_years_of_messages_keep_the_state_files_small(replay: Replay) -> None:
    planned = [p for p in plan_jobs(replay.config) if p.job.name in ("remind", "announce")]
    end = START.replace(year=START.year + 10)
    for moment, item in due(planned, START, end):
        replay.run(moment, item.job)
    state = replay.config.service.state_dir
    sent = json.loads((state / "line-sent.json").read_text(encoding="utf-8"))
    runs = json.loads((state / "runs.json").read_text(encoding="utf-8"))
    # The sent-messages record keeps 92 days (some ten messages), however many years; the record of
    # runs holds a success, a failure and an owed catch-up per job at most.
    assert len(replay.line.delivered) > 300
    assert len(sent) <= 12
    assert sum(len(kinds) for kinds in runs.values()) <= 3 * len(runs)
    assert (state / "line-sent.json").stat().st_size < 4_000
    assert (state / "runs.json").stat().st_size < 4_000
    sizes = {name: (state / name).stat().st_size for name in ("line-sent.json", "runs.json")}
    print(f"ten years: {len(replay.line.delivered)} messages; {len(sent)} sent kept; bytes {sizes}")
