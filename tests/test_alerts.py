"""A failure is told, not discovered: `status --check` is unhealthy from the first failed scheduled run
until one succeeds, the operator's LINE chat gets one alert a failure streak and one on recovery, a failed
manual run is recorded like a scheduled one, and a message that could not be sent is logged whole."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import time_machine

from otop_sync.app import App
from otop_sync.cli import main
from otop_sync.config import Config, ScheduledJob
from otop_sync.demo import DEMO_AS_OF
from otop_sync.jobs import health, plan_jobs
from otop_sync.runs import RunBook, RunRecord
from otop_sync.scheduler import Runner
from otop_sync.settings import load_config

from .builders import target_of
from .conftest import bkk
from .fake_line import GROUP, OPERATOR, TOKEN, FakeLine
from .fake_sheets import LoopbackServer
from .test_scheduler import FlakySource, config_in

JOB = ScheduledJob("sync", "0 7,13 * * *", False, "jobs[0]")


@pytest.fixture
def line() -> Iterator[tuple[FakeLine, str]]:
    fake = FakeLine()
    with LoopbackServer(fake) as server:  # type: ignore[arg-type]
        yield fake, server.url
        assert fake.violations == []


class Clock:
    def __init__(self) -> None:
        self.now = DEMO_AS_OF

    def __call__(self) -> datetime:
        return self.now


def service(tmp_path: Path, url: str, source: FlakySource, clock: Clock) -> tuple[Runner, Config]:
    config = load_config(config_in(tmp_path))
    config = replace(config, line=replace(config.line, token=TOKEN, endpoint=url, alert_to=OPERATOR))
    app = App(config, clock=clock)
    return Runner(app, make_target=lambda: target_of(source, tmp_path / "state")), config


def alerts(fake: FakeLine) -> list[str]:
    return [str(body["messages"][0]["text"]) for body in fake.delivered if body["to"] == OPERATOR]


def test_a_failure_streak_sends_one_alert_and_its_end_one_more(
    tmp_path: Path, line: tuple[FakeLine, str]
) -> None:
    fake, url = line
    clock = Clock()
    runner, config = service(tmp_path, url, FlakySource(failures=3), clock)
    planned, book = plan_jobs(config), RunBook(config.service.state_dir)
    for hours in (0, 6, 12):
        clock.now = DEMO_AS_OF + timedelta(hours=hours)
        assert runner.run_job(JOB) is False
        # Unhealthy at once, not after catch_up_hours: nobody waits six hours to learn the sync is down.
        ok, why = health(planned, book, now=clock.now, grace=timedelta(hours=6))
        assert not ok
        assert why.startswith(
            f"sync failed at {clock.now.isoformat()} and has not succeeded since: could not"
        )
    (alert,) = alerts(fake)  # three failed runs, one alert
    assert alert.startswith("⚠️ otop_sync หนองคาย: งาน “sync” ล้มเหลวเมื่อ ๑๖ ก.ย. ๒๕๖๗ ๐๘.๐๐ น.")
    assert "สาเหตุและวิธีแก้: could not read the list of tabs: Google Sheets kept answering HTTP 503" in alert
    for hours in (18, 24):
        clock.now = DEMO_AS_OF + timedelta(hours=hours)
        assert runner.run_job(JOB) is True
    _, recovered = alerts(fake)  # and one when it works again, however many runs succeed
    assert recovered.startswith("✅ otop_sync หนองคาย: งาน “sync” กลับมาทำงานได้แล้วเมื่อ ๑๗ ก.ย. ๒๕๖๗ ๐๒.๐๐ น.")
    assert "(ล้มเหลวตั้งแต่ ๑๖ ก.ย. ๒๕๖๗ ๒๐.๐๐ น.)" in recovered
    assert health(planned, book, now=clock.now, grace=timedelta(hours=6))[0]


def test_an_alert_that_cannot_be_sent_is_logged_whole_and_the_run_stands(
    tmp_path: Path, line: tuple[FakeLine, str], caplog: pytest.LogCaptureFixture
) -> None:
    fake, url = line
    fake.members = {GROUP}  # the operator never added the bot as a friend: LINE refuses the push
    runner, _ = service(tmp_path, url, FlakySource(failures=1), Clock())
    caplog.set_level(logging.INFO)
    assert runner.run_job(JOB) is False
    assert "the alert could not be sent to LINE (LINE refused the message (HTTP 400" in caplog.text
    assert "งาน “sync” ล้มเหลวเมื่อ" in caplog.text
    assert runner.book.load()["sync"]["failure"]


def test_a_failed_manual_run_is_recorded_like_a_scheduled_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_in(tmp_path)
    missing = tmp_path / "missing.xlsx"
    with time_machine.travel(bkk(2024, 9, 16, 9), tick=False):
        assert main(["run", "--config", str(config), "--workbook", str(missing), "--no-brief"]) == 1
        assert main(["status", "--config", str(config)]) in (0, 1)
    out = capsys.readouterr().out
    assert "manual: last failure 16/09/2567 09:00:00" in out
    assert "no such workbook" in out


def test_a_reminder_that_could_not_be_sent_is_logged_whole(
    tmp_path: Path,
    line: tuple[FakeLine, str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from otop_sync.demo import demo_tabs
    from otop_sync.sources.workbook import write_new_workbook

    fake, url = line
    fake.members = set()  # the bot was removed from the group
    config = config_in(tmp_path)
    province = config / "province.toml"
    province.write_text(
        province.read_text(encoding="utf-8").replace('group_id = ""', f'group_id = "{GROUP}"'),
        encoding="utf-8",
    )
    write_new_workbook(tmp_path / "otop.xlsx", demo_tabs())
    monkeypatch.setenv("LINE_CHANNEL_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("OTOP_SYNC_LINE_ENDPOINT", url)
    caplog.set_level(logging.INFO)
    workbook = str(tmp_path / "otop.xlsx")
    assert (
        main(["remind", "--config", str(config), "--workbook", workbook, "--as-of", "2024-09-13T09:00"]) == 1
    )
    (logged,) = [r.getMessage() for r in caplog.records if "was not sent" in r.getMessage()]
    assert logged.startswith("remind was not sent (LINE refused the message (HTTP 400")
    text = logged.split("send it by hand:\n", 1)[1]
    assert text == fake.requests[-1].body["messages"][0]["text"]  # whole: what LINE was asked to show


def test_a_run_abandoned_as_the_service_stops_is_owed_not_failed(
    tmp_path: Path, line: tuple[FakeLine, str]
) -> None:
    # `docker stop` during a sync: not a failure to alert the operator about, and not a red health check
    # until that job's next run (for the quarter's final brief, three months away).
    from otop_sync.scheduler import start_up

    fake, url = line
    clock = Clock()
    runner, config = service(tmp_path, url, FlakySource(failures=0), clock)
    planned, book = plan_jobs(config), RunBook(config.service.state_dir)
    clock.now = bkk(2024, 9, 16, 7)
    runner.stop.set()
    assert runner.run_job(JOB) is False
    assert alerts(fake) == []
    assert "failure" not in book.load()["sync"]
    # Started again within the grace: the abandoned run is made up, once.
    assert [
        job.name for job in start_up(planned, book, now=bkk(2024, 9, 16, 7, 30), grace=timedelta(hours=6))
    ] == ["sync"]
    # Started again past it: the debt is forgotten, the next fire time runs the job.
    book.record(RunRecord("sync", bkk(2024, 9, 16, 8), False, "abandoned"), kind="owed")
    assert start_up(planned, book, now=bkk(2024, 9, 17, 6), grace=timedelta(hours=1)) == []
    assert "owed" not in book.load().get("sync", {})
