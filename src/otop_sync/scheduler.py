"""Run otop_sync unattended: the jobs of schedule.toml on an APScheduler 3 blocking scheduler.

The loop; the plan it runs (fire times, missed jobs, health) is ``jobs.py``, the only other module that
imports APScheduler (its cron triggers). The scheduler's own job store stays in memory; the record
of runs (``runs.py``) is what survives a restart, so a run missed while the machine was off is made
up exactly once at start-up. Every run takes the run lock, so a scheduled sync and a manual one never
overlap; a failed run is logged and recorded, and the scheduler goes on.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from types import FrameType
from zoneinfo import ZoneInfo

from apscheduler.schedulers.blocking import BlockingScheduler

from otop_sync.app import App, Target
from otop_sync.config import Config, ScheduledJob
from otop_sync.errors import OtopSyncError, Stopped
from otop_sync.jobs import STARTED, PlannedJob, describe, missed_jobs, plan_jobs
from otop_sync.runs import RunBook, RunRecord

log = logging.getLogger("otop_sync")


class Runner:
    """Runs one job through the app (lock, sync, brief or message), logs one line and records it."""

    def __init__(self, app: App, *, make_target: Callable[[], Target]) -> None:
        self.app = app
        self.make_target = make_target  # a fresh source for every run: nothing is carried between runs
        self.book = app.book
        self.stop = threading.Event()
        self.idle = threading.Event()
        self.idle.set()

    def run_job(self, job: ScheduledJob) -> bool:
        """Run the job through the App, which records it and alerts the operator; log it in one line."""
        self.idle.clear()
        started = time.monotonic()
        try:
            result = self.app.perform(
                job.name,
                lambda: self.app.run_job(job, self.make_target(), before_write=self._not_stopping),
                tell=True,
            )
        except Stopped as exc:
            # Not a failure: the operator stopped the service. The run is owed, and the start-up's
            # catch-up makes it up; nobody is alerted, and the health check does not turn red for it.
            log.info("%s: %s; owed to the next start", job.name, exc)
            return False
        except Exception as exc:  # a failed run is logged, recorded and told; the scheduler goes on
            reason = str(exc) if isinstance(exc, OtopSyncError) else f"{type(exc).__name__}: {exc}"
            log.error("%s: failed after %.1f s: %s", job.name, time.monotonic() - started, reason)
            return False
        finally:
            self.idle.set()
        if result.brief_error is not None:
            log.error("%s: failed after %.1f s: %s", job.name, time.monotonic() - started, result.brief_error)
            return False
        log.info("%s: ok: %s", job.name, result.line)
        return True

    def _not_stopping(self) -> None:
        if self.stop.is_set():
            raise Stopped("the service is stopping: the run was abandoned before writing anything")


def start_up(
    planned: Sequence[PlannedJob], book: RunBook, *, now: datetime, grace: timedelta
) -> list[ScheduledJob]:
    """What the scheduler does as it starts: the jobs missed while it was not running (less than `grace`
    ago), each recorded as owed until it runs, and the start itself; the catch-ups to run once now."""
    missed = missed_jobs(planned, book, now=now, grace=grace)
    for item in planned:
        if item.job not in missed:
            # Owed before (a run abandoned as the service stopped), but past the grace now: it is the
            # next fire time's to run, and an old debt must not keep the health check red until then.
            book.forget(item.job.name, "owed")
    for job in missed:
        log.info("%s: missed while otop-sync was not running; running it once now", job.name)
        # Owed until the job runs: `status --check` fails if the catch-up never does.
        book.record(RunRecord(job.name, now, False, "a catch-up is owed"), kind="owed")
    book.record(RunRecord(STARTED, now, True, "scheduler started"))
    return missed


def serve(config: Config, runner: Runner, *, now: datetime, finish_seconds: float = 600) -> None:
    """Block until SIGTERM or SIGINT; then let a running job finish (or give up before its writes)."""
    grace = timedelta(hours=config.service.catch_up_hours)
    planned = plan_jobs(config)
    scheduler = BlockingScheduler(timezone=ZoneInfo(config.timezone))
    for item in planned:
        scheduler.add_job(
            runner.run_job,
            item.trigger,
            args=[item.job],
            id=item.job.name,
            name=item.job.name,
            # One run at a time, one run for a backlog, and a late run is still run (APScheduler's
            # default grace is one second: a busy minute would drop a sync with a mere warning).
            coalesce=True,
            max_instances=1,
            misfire_grace_time=int(grace.total_seconds()) or 1,
        )
    for job in start_up(planned, runner.book, now=now, grace=grace):
        scheduler.add_job(
            runner.run_job,
            "date",
            run_date=now,
            args=[job],
            id=f"catch-up {job.name}",
            # The same grace as the job itself: with APScheduler's default of one second, a start-up
            # slower than that logged "missed by 0:00:02" and dropped the catch-up.
            misfire_grace_time=int(grace.total_seconds()) or 1,
        )

    def stop(signum: int, frame: FrameType | None) -> None:
        log.info("received %s: stopping after the running job, if any", signal.Signals(signum).name)
        runner.stop.set()
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for line in describe(planned, now):
        log.info("%s", line)
    scheduler.start()
    if not runner.idle.wait(finish_seconds):
        log.warning("a job was still running after %g s; exiting anyway", finish_seconds)


class ZonedFormatter(logging.Formatter):
    """Log times in the configuration's time zone, with the offset, like every other time otop_sync
    shows (the server's own clock is often UTC)."""

    def __init__(self, zone: str) -> None:
        super().__init__("%(asctime)s otop-sync %(levelname)s %(message)s")
        self.zone = ZoneInfo(zone)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return datetime.fromtimestamp(record.created, self.zone).isoformat(timespec="seconds")


def log_to_file(config: Config) -> None:
    """Timestamps on every line for a long-running service, and the rotating file if configured."""
    from logging.handlers import RotatingFileHandler

    formatter = ZonedFormatter(config.timezone)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # its job bookkeeping is not news
    for handler in logging.getLogger().handlers:
        handler.setFormatter(formatter)
    if config.service.log_file:
        path = config.service.log_file
        path.parent.mkdir(parents=True, exist_ok=True)
        rotating = RotatingFileHandler(path, maxBytes=1_000_000, backupCount=5, encoding="utf-8")
        rotating.setFormatter(formatter)
        # On the root logger: every warning that reaches standard error reaches the file too, APScheduler's
        # "run time of job … was missed" among them.
        logging.getLogger().addHandler(rotating)
