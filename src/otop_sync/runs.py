"""The record of runs in the state folder: the last success and failure of each job, for the catch-up
decision, `otop-sync status` and the container's health check. Written atomically, read leniently."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from otop_sync.atomic import write_atomically
from otop_sync.outcome import Outcome

RUNS_FILE = "runs.json"
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
        """{job: {"success": RunRecord, "failure": RunRecord}}; an unreadable file counts as empty."""
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        records: dict[str, dict[str, RunRecord]] = {}
        for job, kinds in raw.items() if isinstance(raw, dict) else ():
            for kind, data in kinds.items():
                try:
                    record = RunRecord(
                        job, datetime.fromisoformat(data["at"]), bool(data["ok"]), str(data["summary"])
                    )
                except (KeyError, TypeError, ValueError):
                    continue
                records.setdefault(job, {})[kind] = record
        return records

    def record(self, record: RunRecord, *, kind: str | None = None) -> None:
        """Best effort: a record that cannot be written is logged, and never undoes the run it records.
        `kind` is "success" or "failure" (from `record.ok`) or "owed": a catch-up the scheduler owes."""
        try:
            self._record(record, kind or ("success" if record.ok else "failure"))
        except OSError as exc:
            log.warning("cannot write the record of runs %s: %s", self.path, exc.strerror or exc)

    def _record(self, record: RunRecord, kind: str) -> None:
        records = self.load()
        records.setdefault(record.job, {})[kind] = record
        payload = {job: {kind: r.as_dict() for kind, r in kinds.items()} for job, kinds in records.items()}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(self.path, json.dumps(payload, ensure_ascii=False, indent=2).encode())


def summary_line(outcome: Outcome, *, seconds: float, api_calls: int) -> str:
    """The one line an operator reads per run."""
    rows = outcome.rows
    changes = ", ".join(f"{c.code} {c.quarter.split()[-1]} {c.before}->{c.after}" for c in outcome.changes)
    calls = f", {api_calls} API calls" if api_calls else ""  # none for a local workbook
    return (
        f"{outcome.quarter.code}: rows read {rows.read}, used {rows.used}, superseded {rows.superseded}, "
        f"rejected {rows.rejected}; grades changed: {changes or 'none'}; {seconds:.1f} s{calls}"
    )
