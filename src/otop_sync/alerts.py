"""Alerts to the operator's LINE chat: a failing unattended job is told at once, once a failure streak,
and once more when the job succeeds again; never once a retry, never once a failed run.

Pure: the wording and the streak rule. The App sends them (`App.alert`) through the LINE client, whose
record of what was sent makes each alert go out once even if the service restarts in between.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from otop_sync.periods import format_thai_moment
from otop_sync.runs import RunRecord


@dataclass(frozen=True)
class Alert:
    identity: str  # the same streak's alert is never sent twice
    text: str


def failing_since(records: Mapping[str, RunRecord]) -> RunRecord | None:
    """The job's last failure when it is newer than its last success: the job is failing."""
    failure, success = records.get("failure"), records.get("success")
    if failure is None or (success is not None and success.at >= failure.at):
        return None
    return failure


def alert_for(
    job: str,
    *,
    ok: bool,
    summary: str,
    at: datetime,
    before: Mapping[str, RunRecord],
    province: str,
    digits: Callable[[str], str],
) -> Alert | None:
    """The alert a run of `job` calls for, given the job's records `before` it: one when a streak of
    failures begins, one when it ends, nothing in between. Dates in the office's digit style; the reason
    is the operator's line as the log has it."""
    failing = failing_since(before)
    if not ok and failing is None:
        return Alert(
            f"alert:{job}:failed:{at.isoformat()}",
            f"⚠️ otop_sync {province}: งาน “{job}” ล้มเหลวเมื่อ {digits(format_thai_moment(at))}\n"
            f"สาเหตุและวิธีแก้: {summary}\n"
            "จะแจ้งอีกครั้งเมื่อกลับมาทำงานได้ (ดูสถานะ: otop-sync status)",
        )
    if ok and failing is not None:
        return Alert(
            f"alert:{job}:recovered:{failing.at.isoformat()}",
            f"✅ otop_sync {province}: งาน “{job}” กลับมาทำงานได้แล้วเมื่อ {digits(format_thai_moment(at))} "
            f"(ล้มเหลวตั้งแต่ {digits(format_thai_moment(failing.at))})\n{summary}",
        )
    return None
