"""The record of runs in the state folder: the last success and failure of each job, for the catch-up
decision, `otop-sync status` and the container's health check. Written atomically, read leniently."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from otop_sync.atomic import write_atomically
from otop_sync.outcome import Outcome
from otop_sync.statefile import WrongShape, aware, read_state

RUNS_FILE = "runs.json"
KINDS = ("success", "failure", "owed")
# A record dated later than this after now was written by a clock that ran ahead (no run lasts so long).
CLOCK_SLACK = timedelta(minutes=10)
log = logging.getLogger("otop_sync")


@dataclass(frozen=True)
class RunRecord:
    job: str
    at: datetime
    ok: bool
    summary: str

    def as_dict(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "ok": self.ok, "summary": self.summary}


class RunBook:
    def __init__(self, folder: Path) -> None:
        self.path = folder / RUNS_FILE

    def load(self) -> dict[str, dict[str, RunRecord]]:
        """{job: {"success": RunRecord, "failure": RunRecord, "owed": RunRecord}}; a file of another shape is
        set aside (statefile.read_state) and counts as empty."""
        return read_state(self.path, _parse_runs, empty={})

    def record(self, record: RunRecord, *, kind: str | None = None) -> None:
        """Best effort: a record that cannot be written is logged, and never undoes the run it records.
        `kind` is "success" or "failure" (from `record.ok`) or "owed": a catch-up the scheduler owes."""
        try:
            self._record(record, kind or ("success" if record.ok else "failure"))
        except OSError as exc:
            log.warning("cannot write the record of runs %s: %s", self.path, exc.strerror or exc)

    def forget(self, job: str, kind: str) -> None:
        """Drop one record (a catch-up no longer owed); best effort, like `record`."""
        records = self.load()
        if kind not in records.get(job, {}):
            return
        del records[job][kind]
        try:
            self._write(records)
        except OSError as exc:
            log.warning("cannot write the record of runs %s: %s", self.path, exc.strerror or exc)

    def _record(self, record: RunRecord, kind: str) -> None:
        records = self.load()
        ahead = [r for kinds in records.values() for r in kinds.values() if r.at > record.at + CLOCK_SLACK]
        if ahead:
            # Written by a clock that ran ahead: kept, they would hide every run until that date comes.
            log.warning(
                "the clock went back: dropping %d record(s) of runs dated after now, up to %s",
                len(ahead),
                max(r.at for r in ahead).isoformat(),
            )
            records = {
                job: {k: r for k, r in kinds.items() if r.at <= record.at + CLOCK_SLACK}
                for job, kinds in records.items()
            }
        records.setdefault(record.job, {})[kind] = record
        self._write(records)

    def _write(self, records: dict[str, dict[str, RunRecord]]) -> None:
        payload = {job: {kind: r.as_dict() for kind, r in kinds.items()} for job, kinds in records.items()}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(self.path, json.dumps(payload, ensure_ascii=False, indent=2).encode())


def _parse_runs(raw: Any) -> dict[str, dict[str, RunRecord]]:
    if not isinstance(raw, dict):
        raise WrongShape("not a JSON object of jobs")
    records: dict[str, dict[str, RunRecord]] = {}
    for job, kinds in raw.items():
        if not isinstance(kinds, dict):
            raise WrongShape(f"job {job!r} holds {kinds!r}, not its records")
        for kind, data in kinds.items():
            if kind not in KINDS or not isinstance(data, dict):
                raise WrongShape(f"job {job!r} has a record {kind!r} of another shape")
            ok, summary = data.get("ok"), data.get("summary")
            if not isinstance(ok, bool) or not isinstance(summary, str):
                raise WrongShape(f"job {job!r}, record {kind!r}: no ok or summary")
            records.setdefault(job, {})[kind] = RunRecord(job, aware(data.get("at")), ok, summary)
    return records


def summary_line(outcome: Outcome, *, seconds: float, api_calls: int) -> str:
    """The one line an operator reads per run."""
    rows = outcome.rows
    changes = ", ".join(f"{c.code} {c.quarter.split()[-1]} {c.before}->{c.after}" for c in outcome.changes)
    calls = f", {api_calls} API calls" if api_calls else ""  # none for a local workbook
    closed = (
        f" ({outcome.after_closing} after their quarter closed: listed, not counted)"
        if outcome.after_closing
        else ""
    )
    return (
        f"{outcome.quarter.code}: rows read {rows.read}, used {rows.used}, superseded {rows.superseded}, "
        f"rejected {rows.rejected}{closed}; grades changed: {changes or 'none'}; {seconds:.1f} s{calls}"
    )
