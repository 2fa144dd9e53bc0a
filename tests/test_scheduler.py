"""Running unattended: triggers, the catch-up decision, one run at a time, and a scheduler that goes on."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine

from otop_sync.app import App
from otop_sync.cli import main
from otop_sync.config import Config, ScheduledJob
from otop_sync.demo import DEMO_AS_OF, demo_tabs
from otop_sync.errors import ConfigError, SourceError
from otop_sync.jobs import health, missed_jobs, next_fire_times, plan_jobs
from otop_sync.periods import BANGKOK
from otop_sync.runs import RunBook, RunRecord
from otop_sync.scheduler import Runner, serve
from otop_sync.settings import load_config, shipped_dir
from otop_sync.sources.memory import MemorySource

from .builders import app_in, target_of
from .conftest import CONFIG, bkk
from .fake_sheets import service_account_file

PLANNED = {p.job.name: p for p in plan_jobs(CONFIG)}
GRACE = timedelta(hours=6)


def next_times(job: str, now: datetime, count: int = 3) -> list[datetime]:
    return next_fire_times(PLANNED[job].trigger, now, count)


def test_syncs_run_twice_a_day_every_day() -> None:
    assert next_times("sync", bkk(2024, 8, 15, 7, 30)) == [
        bkk(2024, 8, 15, 13),
        bkk(2024, 8, 16, 7),
        bkk(2024, 8, 16, 13),
    ]
    # After the last round too: a report sent late, in the quarter's grace period, counts within a day
    # (it waited for the 1st of the next month before, and for a --regrade once the quarter had moved on).
    assert next_times("sync", bkk(2024, 9, 20, 13, 30), 1) == [bkk(2024, 9, 21, 7)]


def test_brief_editions_around_the_15th() -> None:
    assert next_times("brief-before-deadline", bkk(2024, 8, 12)) == [
        bkk(2024, 8, 13, 8),
        bkk(2024, 8, 15, 8),
        bkk(2024, 9, 13, 8),
    ]
    assert next_times("brief-at-deadline", bkk(2024, 8, 15, 23, 59, 59), 1) == [bkk(2024, 8, 16, 0, 30)]
    assert next_times("brief-quarter-final", bkk(2024, 7, 1), 2) == [
        bkk(2024, 9, 16, 8),
        bkk(2024, 12, 16, 8),
    ]


def test_across_a_month_end_and_the_fiscal_year_end() -> None:
    assert next_times("sync", bkk(2024, 8, 31, 23), 1) == [bkk(2024, 9, 1, 7)]
    # 30 September 2567 closes FY 2567; 1 October opens FY 2568.
    assert next_times("sync", bkk(2024, 9, 30, 23), 1) == [bkk(2024, 10, 1, 7)]
    assert next_times("brief-at-deadline", bkk(2024, 9, 30, 23), 1) == [bkk(2024, 10, 16, 0, 30)]


def test_fire_times_are_bangkok_times_on_a_server_whose_clock_is_utc(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        with time_machine.travel(datetime(2024, 9, 1, 0, 30, tzinfo=UTC), tick=False):  # 07:30 in Bangkok
            assert main(["schedule", "--list"]) == 0
    finally:
        monkeypatch.undo()
        time.tzset()
    out = capsys.readouterr().out
    assert "sync [0 7,13 * * *]: next 01/09/2567 13:00:00 (2024-09-01T13:00:00+07:00)" in out


def book_with(tmp_path: Path, job: str, at: datetime) -> RunBook:
    book = RunBook(tmp_path)
    book.record(RunRecord(job, at, True, "ok"))
    return book


def test_a_sync_missed_while_the_machine_was_off_runs_once() -> None:
    planned = list(PLANNED.values())
    with time_machine.travel(bkk(2024, 9, 2, 9, 30), tick=False):
        now = datetime.now(BANGKOK)
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        book = book_with(Path(folder), "sync", bkk(2024, 9, 1, 13))
        assert [j.name for j in missed_jobs(planned, book, now=now, grace=GRACE)] == ["sync"]
        # Back at 14:00: both 07:00 and 13:00 were missed, and still one run makes them up.
        assert [j.name for j in missed_jobs(planned, book, now=bkk(2024, 9, 2, 14), grace=GRACE)] == ["sync"]
        # Nothing was due yet, or the last due run is older than the grace: nothing to make up.
        assert missed_jobs(planned, book, now=bkk(2024, 9, 2, 6, 59), grace=GRACE) == []
        assert missed_jobs(planned, book, now=bkk(2024, 9, 2, 20, 1), grace=GRACE) == []
        # Made up: a restart right after does not run it again.
        book.record(RunRecord("sync", bkk(2024, 9, 2, 9, 31), True, "ok"))
        assert missed_jobs(planned, book, now=bkk(2024, 9, 2, 9, 40), grace=GRACE) == []


def test_health_fails_when_a_due_run_has_not_succeeded(tmp_path: Path) -> None:
    planned = list(PLANNED.values())
    book = book_with(tmp_path, "sync", bkk(2024, 9, 1, 13))
    ok, _ = health(planned, book, now=bkk(2024, 9, 2, 12), grace=GRACE)
    assert ok  # 07:00 is due, but within the grace
    ok, why = health(planned, book, now=bkk(2024, 9, 2, 14), grace=GRACE)
    assert not ok
    assert "sync was due at 2024-09-02T07:00:00+07:00" in why
    ok, _ = health(planned, book, now=bkk(2024, 9, 25), grace=GRACE)  # no job between the 17th and the 1st
    assert not ok  # the 13th-16th runs never happened


def config_in(tmp_path: Path, *, lock_wait: float = 600, cron: str | None = None) -> Path:
    folder = tmp_path / "config"
    shutil.copytree(shipped_dir("config"), folder)
    schedule = folder / "schedule.toml"
    text = schedule.read_text(encoding="utf-8").replace(
        "lock_wait_seconds = 600", f"lock_wait_seconds = {lock_wait}"
    )
    text = text.replace('state_dir = "state"', f'state_dir = "{tmp_path / "state"}"')
    if cron:
        text = text.replace('cron = "0 7,13 * * *"', f'cron = "{cron}"')
    schedule.write_text(text, encoding="utf-8")
    return folder


def test_a_bad_cron_field_is_refused_at_start_up_with_its_key(tmp_path: Path) -> None:
    config = load_config(config_in(tmp_path, cron="0 25 * * *"))
    with pytest.raises(
        ConfigError, match=r"schedule\.toml: jobs\[0\]\.cron: '0 25 \* \* \*' is not a cron line"
    ):
        plan_jobs(config)
    assert main(["schedule", "--config", str(tmp_path / "config")]) == 1


HOLDER = textwrap.dedent(
    """
    import sys, time
    from datetime import datetime
    from pathlib import Path
    from otop_sync.runlock import run_lock
    from otop_sync.periods import BANGKOK
    with run_lock(Path(sys.argv[1]), wait_seconds=0, who="scheduled sync", now=lambda: datetime.now(BANGKOK)):
        print("holding", flush=True)
        time.sleep(float(sys.argv[2]))
    """
)


def hold_lock(lock: Path, seconds: float) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(lock), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "holding"
    holder.stdout.close()
    return holder


def test_a_manual_run_waits_for_a_running_sync_then_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    config = config_in(tmp_path, lock_wait=0.5)
    holder = hold_lock(tmp_path / ".otop-sync-demo.xlsx.otop-sync-lock", 30)  # the demo's, beside it
    try:
        started = time.monotonic()
        assert main(["run", "--regrade", "--no-brief", "--config", str(config)]) == 1
        assert time.monotonic() - started >= 0.5
        err = capsys.readouterr().err
        assert f"another run holds the lock (pid {holder.pid}, scheduled sync, since 20" in err
    finally:
        holder.kill()
        holder.wait()


def test_a_lock_left_by_a_killed_process_is_taken_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = config_in(tmp_path, lock_wait=5)
    holder = hold_lock(tmp_path / ".otop-sync-demo.xlsx.otop-sync-lock", 300)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    started = time.monotonic()
    assert main(["run", "--no-brief", "--config", str(config)]) == 0
    assert time.monotonic() - started < 4


def test_two_runs_at_once_one_works_and_the_other_waits(tmp_path: Path) -> None:
    config = config_in(tmp_path, lock_wait=60)
    subprocess.run(
        [sys.executable, "-m", "otop_sync.cli", "demo", str(tmp_path / "w.xlsx")],
        check=True,
        capture_output=True,
    )
    holder = hold_lock(tmp_path / ".w.xlsx.otop-sync-lock", 1.5)
    command = [
        sys.executable,
        "-m",
        "otop_sync.cli",
        "run",
        "--workbook",
        str(tmp_path / "w.xlsx"),
        "--no-brief",
        "--config",
        str(config),
    ]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    holder.wait()
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started >= 1.0  # it waited for the holder


def test_the_lock_is_removed_after_each_run_and_still_lets_only_one_in(tmp_path: Path) -> None:
    # Removing a lock file is where such locks go wrong: a waiter that opened the file before it was
    # removed must not hold a lock of its own beside the next one's. Sixteen runners take the lock
    # forty times each; never two inside at once, and nothing is left behind.
    from otop_sync.runlock import run_lock

    lock = tmp_path / ".w.xlsx.otop-sync-lock"
    inside: list[int] = []
    most = 0
    guard = threading.Lock()

    def runner(who: int) -> None:
        nonlocal most
        for _ in range(40):
            with run_lock(
                lock, wait_seconds=60, who=f"runner {who}", now=lambda: DEMO_AS_OF, poll_seconds=0.001
            ):
                with guard:
                    inside.append(who)
                    most = max(most, len(inside))
                time.sleep(0.0005)
                with guard:
                    inside.remove(who)

    threads = [threading.Thread(target=runner, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most == 1
    assert list(tmp_path.iterdir()) == []


def test_a_demo_run_leaves_no_lock_file_in_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--no-brief"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["otop-sync-demo.xlsx", "state"]


class FlakySource(MemorySource):
    def __init__(self, failures: int) -> None:
        super().__init__({t.title: t.rows for t in demo_tabs()})
        self.failures = failures

    def read(self, form):  # type: ignore[no-untyped-def]
        if self.failures:
            self.failures -= 1
            raise SourceError("could not read the list of tabs: Google Sheets kept answering HTTP 503")
        return super().read(form)


def runner_for(tmp_path: Path, source: MemorySource) -> tuple[Runner, Config]:
    config = load_config(config_in(tmp_path))
    clock = iter(DEMO_AS_OF + timedelta(minutes=i) for i in range(100))
    app = App(config, clock=lambda: next(clock))
    runner = Runner(app, make_target=lambda: target_of(source, tmp_path / "state"))
    return runner, config


JOB = ScheduledJob("sync", "0 7,13 * * *", False, "jobs[0]")


def test_the_scheduler_goes_on_after_a_failed_sync(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="otop_sync")
    source = FlakySource(failures=1)
    runner, _ = runner_for(tmp_path, source)
    assert runner.run_job(JOB) is False
    assert runner.run_job(JOB) is True
    records = runner.book.load()["sync"]
    assert "HTTP 503" in records["failure"].summary
    assert records["success"].summary.startswith("2567Q4: rows read 33, used 12, superseded 16, rejected 5")
    assert records["success"].at > records["failure"].at
    lines = [r.getMessage() for r in caplog.records if r.name == "otop_sync"]
    assert lines[0].startswith("sync: failed after ")
    assert lines[1].startswith("sync: ok: 2567Q4: rows read 33")
    assert source.writes == 1


def test_a_stop_request_abandons_the_run_before_any_write(tmp_path: Path) -> None:
    source = FlakySource(failures=0)
    runner, _ = runner_for(tmp_path, source)
    runner.stop.set()
    assert runner.run_job(JOB) is False
    assert source.writes == 0
    # Not a failure (the operator stopped the service): owed, for the start-up's catch-up; no alert.
    records = runner.book.load()["sync"]
    assert "failure" not in records
    assert "abandoned before writing anything" in records["owed"].summary


def test_status_check_is_the_health_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = config_in(tmp_path)
    book = RunBook(tmp_path / "state")
    book.record(RunRecord("sync", bkk(2024, 9, 1, 13), True, "ok"))
    with time_machine.travel(bkk(2024, 9, 2, 12), tick=False):
        assert main(["status", "--check", "--config", str(config)]) == 0
    with time_machine.travel(bkk(2024, 9, 2, 14), tick=False):
        assert main(["status", "--check", "--config", str(config)]) == 1
    assert "unhealthy: sync was due at 2024-09-02T07:00:00+07:00" in capsys.readouterr().out


def test_status_shows_the_last_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = config_in(tmp_path)
    RunBook(tmp_path / "state").record(RunRecord("sync", bkk(2024, 9, 1, 13), True, "2567Q4: rows read 33"))
    with time_machine.travel(bkk(2024, 9, 1, 14), tick=False):
        assert main(["status", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "sync: last success 01/09/2567 13:00:00 (2024-09-01T13:00:00+07:00): 2567Q4: rows read 33" in out
    assert "sync [0 7,13 * * *]: next 02/09/2567 07:00:00" in out


def test_sigterm_stops_the_scheduler_cleanly(tmp_path: Path) -> None:
    config = config_in(tmp_path)
    subprocess.run(
        [sys.executable, "-m", "otop_sync.cli", "demo", str(tmp_path / "w.xlsx")],
        check=True,
        capture_output=True,
    )
    command = [
        sys.executable,
        "-m",
        "otop_sync.cli",
        "schedule",
        "--workbook",
        str(tmp_path / "w.xlsx"),
        "--config",
        str(config),
    ]
    service = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    assert service.stderr is not None
    for line in service.stderr:
        if "announce [0 9 16 * *]: next" in line:  # the last job it lists before it starts waiting
            break
    time.sleep(0.3)
    service.send_signal(signal.SIGTERM)
    assert service.wait(timeout=20) == 0
    rest = service.stderr.read()
    service.stderr.close()
    assert "received SIGTERM: stopping after the running job, if any" in rest
    assert RunBook(tmp_path / "state").load()["_scheduler"]["success"].summary == "scheduler started"


def test_a_state_folder_that_cannot_be_written_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a-file").write_text("not a folder")
    config = config_in(tmp_path)
    schedule = config / "schedule.toml"
    schedule.write_text(
        schedule.read_text().replace(
            f'state_dir = "{tmp_path / "state"}"', f'state_dir = "{tmp_path / "a-file" / "state"}"'
        )
    )
    # A spreadsheet's lock is in the state folder (a workbook's is beside the workbook). Nothing is sent:
    # the lock comes first.
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(service_account_file(tmp_path)))
    assert (
        main(["run", "--no-brief", "--spreadsheet", "1AbCdEfGhIjKlMnOpQrStUvWxYz", "--config", str(config)])
        == 1
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("otop-sync: error: cannot create the run lock")
    assert "set [service] state_dir to a folder otop_sync can write" in err[-1]
    RunBook(tmp_path / "a-file" / "state").record(
        RunRecord("sync", bkk(2024, 9, 1), True, "ok")
    )  # logged, no raise


def test_a_catch_up_delayed_past_a_second_at_start_up_still_runs_once(tmp_path: Path) -> None:
    started = datetime.now(BANGKOK)
    due = started - timedelta(minutes=1)  # missed a minute ago; next due in a year
    job = ScheduledJob("sync", f"{due.minute} {due.hour} {due.day} {due.month} *", False, "jobs[0]")
    config = replace(load_config(config_in(tmp_path)), jobs=(job,))
    source = MemorySource({t.title: t.rows for t in demo_tabs()})
    app = app_in(tmp_path / "state", config, clock=lambda: datetime.now(BANGKOK))
    runner = Runner(app, make_target=lambda: target_of(source, tmp_path))

    def stop_once_it_ran() -> None:
        deadline = time.monotonic() + 15
        while (
            not RunBook(tmp_path / "state").load().get("sync", {}).get("success")
            and time.monotonic() < deadline
        ):
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGTERM)

    handlers = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    threading.Thread(target=stop_once_it_ran, daemon=True).start()
    try:
        # As after a 3-second stall at start-up: the catch-up's run date is 3 s in the past.
        serve(config, runner, now=started - timedelta(seconds=3), finish_seconds=10)
    finally:
        signal.signal(signal.SIGTERM, handlers[0])
        signal.signal(signal.SIGINT, handlers[1])
    assert source.writes == 1
    records = RunBook(tmp_path / "state").load()["sync"]
    assert records["success"].at > records["owed"].at
    ok, _ = health(plan_jobs(config), RunBook(tmp_path / "state"), now=datetime.now(BANGKOK), grace=GRACE)
    assert ok


def test_health_fails_when_an_owed_catch_up_never_ran(tmp_path: Path) -> None:
    book = book_with(tmp_path, "sync", bkk(2024, 9, 2, 7))
    book.record(RunRecord("_scheduler", bkk(2024, 9, 2, 13, 30), True, "scheduler started"))
    book.record(RunRecord("sync", bkk(2024, 9, 2, 13, 30), False, "a catch-up is owed"), kind="owed")
    planned = list(PLANNED.values())
    assert health(planned, book, now=bkk(2024, 9, 2, 13, 31), grace=GRACE)[0]  # it may still be starting
    ok, why = health(planned, book, now=bkk(2024, 9, 2, 13, 33), grace=GRACE)
    assert not ok
    assert why == "sync: a catch-up owed since 2024-09-02T13:30:00+07:00 has not run"
    book.record(RunRecord("sync", bkk(2024, 9, 2, 13, 34), True, "ok"))
    assert health(planned, book, now=bkk(2024, 9, 2, 13, 35), grace=GRACE)[0]


def test_the_operator_reruns_a_failed_job_now_and_its_success_clears_the_health_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A job that runs four times a year (the quarter's final brief) failed for a passing reason: the
    # operator fixes the cause and runs it now instead of staying unhealthy for three months.
    monkeypatch.chdir(tmp_path)
    config = config_in(tmp_path)
    workbook = tmp_path / "otop.xlsx"
    text = (config / "province.toml").read_text(encoding="utf-8")
    (config / "province.toml").write_text(
        text.replace('workbook = ""', f'workbook = "{workbook}"'), encoding="utf-8"
    )
    workbook.write_bytes(b"PK\x03\x04 not really a workbook")
    run_job = ["schedule", "--config", str(config), "--run", "brief-quarter-final"]
    assert main(run_job) == 1
    assert main(["status", "--check", "--config", str(config)]) == 1
    assert "unhealthy: brief-quarter-final failed at" in capsys.readouterr().out
    assert main(["demo", "--force", str(workbook)]) == 0
    assert main(run_job) == 0
    capsys.readouterr()
    assert main(["status", "--check", "--config", str(config)]) == 0
    assert capsys.readouterr().out.startswith("healthy: last success")
    assert (tmp_path / "config" / "briefs" / "brief-latest.pdf").is_file()  # the job's brief, rendered
    assert main(["schedule", "--config", str(config), "--run", "nightly"]) == 1
    assert (
        "no job named 'nightly' in schedule.toml; its jobs: sync, brief-before-deadline"
        in capsys.readouterr().err
    )
