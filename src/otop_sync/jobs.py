"""The plan of the unattended jobs: when each fires, which were missed, whether the service is healthy.

Pure: it reads the configuration and the record of runs (``runs.py``) and computes, with APScheduler's
cron triggers as the one reading of a cron line; the loop that runs the jobs is ``scheduler.py``. So
`otop-sync check`, `status` and the tests of a year read the same plan the service runs, without
importing the service.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from otop_sync.alerts import failing_since
from otop_sync.config import Config, ScheduledJob
from otop_sync.errors import ConfigError
from otop_sync.periods import format_be_datetime
from otop_sync.runs import CLOCK_SLACK, RunBook

STARTED = "_scheduler"
OWED_SECONDS = 120  # a catch-up runs as the scheduler starts; one not run by then was dropped


@dataclass(frozen=True)
class PlannedJob:
    job: ScheduledJob
    trigger: CronTrigger


def plan_jobs(config: Config) -> list[PlannedJob]:
    """A trigger per configured job; a cron field APScheduler cannot read is refused with its key."""
    planned = []
    for job in config.jobs:
        try:
            trigger = CronTrigger.from_crontab(job.cron, timezone=ZoneInfo(config.timezone))
        except ValueError as exc:
            raise ConfigError(
                "schedule.toml", f"{job.key}.cron", f"{job.cron!r} is not a cron line: {exc}"
            ) from None
        planned.append(PlannedJob(job, trigger))
    return planned


def fire_times(trigger: CronTrigger, after: datetime, until: datetime) -> Iterator[datetime]:
    """The trigger's fire times in (after, until]."""
    moment = trigger.get_next_fire_time(None, after + timedelta(seconds=1))
    while moment is not None and moment <= until:
        yield moment
        moment = trigger.get_next_fire_time(moment, moment + timedelta(seconds=1))


def next_fire_times(trigger: CronTrigger, now: datetime, count: int) -> list[datetime]:
    times: list[datetime] = []
    moment = trigger.get_next_fire_time(None, now)
    while moment is not None and len(times) < count:
        times.append(moment)
        moment = trigger.get_next_fire_time(moment, moment + timedelta(seconds=1))
    return times


def missed_jobs(
    planned: Sequence[PlannedJob], book: RunBook, *, now: datetime, grace: timedelta
) -> list[ScheduledJob]:
    """Jobs that should have fired since their last success, less than `grace` ago: each runs once."""
    records = book.load()
    missed = []
    for item in planned:
        last = records.get(item.job.name, {}).get("success")
        if last and last.at > now + CLOCK_SLACK:
            last = None  # written by a clock that ran ahead: it says nothing of what ran since
        since = max(last.at, now - grace) if last else now - grace
        if next(fire_times(item.trigger, since, now), None) is not None:
            missed.append(item.job)
    return missed


def health(
    planned: Sequence[PlannedJob], book: RunBook, *, now: datetime, grace: timedelta
) -> tuple[bool, str]:
    """Unhealthy when a record is dated in the future (the clock went back), when a catch-up owed at
    start-up has not run within OWED_SECONDS, or when a run was due more than `grace` ago and no run has
    succeeded since."""
    records = book.load()
    ahead = [
        (r.at, name) for name, kinds in records.items() for r in kinds.values() if r.at > now + CLOCK_SLACK
    ]
    if ahead:
        at, name = max(ahead)
        return (
            False,
            f"the clock went back: {name} is recorded at {at.isoformat()}, later than now "
            f"({now.isoformat()}); jobs planned by the clock that ran ahead do not fire: check the "
            "machine's clock (NTP), then restart the service",
        )
    failing = [
        (failure.at, item.job.name, failure.summary)
        for item in planned
        if (failure := failing_since(records.get(item.job.name, {}))) is not None
    ]
    if failing:
        # Told from the first failed run, not after catch_up_hours: retrying is the scheduler's business,
        # knowing is the operator's.
        at, name, reason = min(failing)
        return False, f"{name} failed at {at.isoformat()} and has not succeeded since: {reason}"
    for name, kinds in sorted(records.items()):
        owed = kinds.get("owed")
        ran = [kinds[k].at for k in ("success", "failure") if k in kinds]
        if owed and not any(at >= owed.at for at in ran) and now - owed.at > timedelta(seconds=OWED_SECONDS):
            return False, f"{name}: a catch-up owed since {owed.at.isoformat()} has not run"
    successes = [
        k["success"].at for name, k in records.items() if "success" in k and not name.startswith("_")
    ]
    started = records.get(STARTED, {}).get("success")
    since = max([*successes, *([started.at] if started else [])], default=None)
    if since is None:
        return False, "no run has succeeded yet and the scheduler has not started"
    overdue = [
        (moment, item.job.name) for item in planned for moment in fire_times(item.trigger, since, now - grace)
    ]
    if overdue:
        moment, name = min(overdue)
        return (
            False,
            f"{name} was due at {moment.isoformat()} and nothing has succeeded since {since.isoformat()}",
        )
    last = max(successes, default=None)
    return True, f"last success {last.isoformat() if last else 'none yet'}"


def describe(planned: Sequence[PlannedJob], now: datetime, count: int = 1) -> list[str]:
    lines = []
    for item in planned:
        times = next_fire_times(item.trigger, now, count)
        when = "; ".join(f"{format_be_datetime(t)} ({t.isoformat()})" for t in times) or "never"
        brief = " + brief" if item.job.brief else ""
        lines.append(f"{item.job.name}{brief} [{item.job.cron}]: next {when}")
    return lines
