"""The state folder's files of the wrong shape are set aside with one warning and the service goes on;
a record dated in the future (a clock that ran ahead) makes the health check fail, never hides a dead
service."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine

from otop_sync.cli import main
from otop_sync.jobs import health, missed_jobs, plan_jobs
from otop_sync.line import SentBook
from otop_sync.runs import RunBook, RunRecord

from .conftest import CONFIG, bkk
from .test_scheduler import config_in

PLANNED = plan_jobs(CONFIG)
GRACE = timedelta(hours=6)

WRONG_SHAPES = {
    "null job": {"sync": None},
    "a list": [1, 2],
    "a number for a record": {"sync": {"success": 3}},
    "no offset": {"sync": {"success": {"at": "2024-09-01T13:00:00", "ok": True, "summary": "ok"}}},
    "ok as text": {"sync": {"success": {"at": "2024-09-01T13:00:00+07:00", "ok": "yes", "summary": "ok"}}},
    "an unknown kind": {"sync": {"best": {"at": "2024-09-01T13:00:00+07:00", "ok": True, "summary": ""}}},
}


@pytest.mark.parametrize("content", [*WRONG_SHAPES.values(), "{not json"], ids=[*WRONG_SHAPES, "not JSON"])
def test_a_record_of_runs_of_another_shape_is_set_aside_with_one_warning(
    content: object, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "runs.json"
    text = content if isinstance(content, str) else json.dumps(content)
    path.write_text(text, encoding="utf-8")
    book = RunBook(tmp_path)
    assert book.load() == {}
    (aside,) = tmp_path.glob("runs.json.unreadable-*")
    assert aside.read_text(encoding="utf-8") == text  # kept for a person to look at
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.startswith(f"{path} is not a file otop_sync wrote (")
    assert warning.endswith(f"kept as {aside.name}, and a new one started")
    book.record(RunRecord("sync", bkk(2024, 9, 1, 13), True, "ok"))
    assert book.load()["sync"]["success"].summary == "ok"


def test_status_and_run_go_on_past_a_record_of_runs_of_another_shape(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_in(tmp_path)
    state = tmp_path / "state"
    state.mkdir(exist_ok=True)
    (state / "runs.json").write_text('{"sync": null}', encoding="utf-8")
    with time_machine.travel(bkk(2024, 9, 2, 12), tick=False):
        assert main(["status", "--check", "--config", str(config)]) == 1  # no run yet: unhealthy, no crash
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    assert "unhealthy: no run has succeeded yet" in out.out
    assert list(state.glob("runs.json.unreadable-*"))


def test_a_sent_book_of_another_shape_is_set_aside(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "line-sent.json").write_text('["remind 2567Q4"]', encoding="utf-8")
    book = SentBook(tmp_path)
    assert book.load() == {}
    assert list(tmp_path.glob("line-sent.json.unreadable-*"))
    book.add("remind 2567Q4 2024-09", bkk(2024, 9, 13, 9))
    assert list(book.load()) == ["remind 2567Q4 2024-09"]


def test_a_record_from_a_clock_that_ran_ahead_makes_the_check_fail(tmp_path: Path) -> None:
    # Started with the clock 40 days ahead: the scheduler planned its jobs from then, and nothing ran.
    book = RunBook(tmp_path)
    book.record(RunRecord("_scheduler", bkk(2024, 10, 12, 7), True, "scheduler started"))
    ok, why = health(PLANNED, book, now=bkk(2024, 9, 2, 7, 5), grace=GRACE)
    assert not ok
    assert why.startswith("the clock went back: _scheduler is recorded at 2024-10-12T07:00:00+07:00, later")
    assert why.endswith("check the machine's clock (NTP), then restart the service")


def test_a_success_from_a_clock_that_ran_ahead_does_not_skip_the_catch_up(tmp_path: Path) -> None:
    book = RunBook(tmp_path)
    book.record(RunRecord("sync", bkk(2024, 10, 12, 7), True, "ok"))
    missed = missed_jobs(PLANNED, book, now=bkk(2024, 9, 2, 8), grace=GRACE)
    assert "sync" in [job.name for job in missed]


def test_the_first_record_after_the_clock_is_put_right_drops_the_ones_ahead(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    book = RunBook(tmp_path)
    book.record(RunRecord("_scheduler", bkk(2024, 10, 12, 7), True, "scheduler started"))
    book.record(RunRecord("_scheduler", bkk(2024, 9, 2, 7), True, "scheduler started"))
    assert book.load()["_scheduler"]["success"].at == bkk(2024, 9, 2, 7)
    assert "the clock went back: dropping 1 record(s) of runs dated after now" in caplog.text
    assert health(PLANNED, book, now=bkk(2024, 9, 2, 7, 5), grace=GRACE)[0]


def test_every_warning_on_standard_error_reaches_the_log_file_too(tmp_path: Path) -> None:
    # APScheduler's "run time of job … was missed" (a run dropped past its grace) went to standard error
    # only: the file an operator reads said nothing.
    from dataclasses import replace

    from otop_sync.scheduler import log_to_file

    log_file = tmp_path / "logs" / "otop-sync.log"
    config = replace(CONFIG, service=replace(CONFIG.service, log_file=log_file))
    root = logging.getLogger()
    before = list(root.handlers)
    try:
        log_to_file(config)
        logging.getLogger("apscheduler.executors.default").warning(
            'Run time of job "sync" was missed by 6:00:01'
        )
        logging.getLogger("otop_sync").warning("a warning of our own")
        for handler in root.handlers:
            handler.flush()
    finally:
        for handler in root.handlers[:]:
            if handler not in before:
                root.removeHandler(handler)
                handler.close()
    text = log_file.read_text(encoding="utf-8")
    assert 'Run time of job "sync" was missed by 6:00:01' in text
    assert "a warning of our own" in text


def test_a_state_file_larger_than_otop_sync_ever_writes_is_set_aside_unread(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "runs.json"
    path.write_text('{"sync": {}, "x": "' + "y" * 2_000_000 + '"}', encoding="utf-8")
    assert RunBook(tmp_path).load() == {}
    assert list(tmp_path.glob("runs.json.unreadable-*"))
    assert "larger than 1,000,000 bytes" in caplog.text
