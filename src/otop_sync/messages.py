"""The LINE group's messages, in Thai: reminders before a deadline and announcements after it.

Pure: built from a sync's outcome and the configuration. A reminder names only the districts that
have not yet sent a valid report for the round; none is made when every district has reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from otop_sync.config import Action, Config
from otop_sync.grading import DistrictResult, Round, Timeliness
from otop_sync.lengths import fit
from otop_sync.numerals import Numerals
from otop_sync.outcome import Outcome
from otop_sync.periods import Month, format_thai_date, format_thai_moment, to_bangkok
from otop_sync.responses import Sender
from otop_sync.tables import grade_text, needs_text

# LINE's limit for one text message, in UTF-16 code units: an emoji counts 2 (LINE Developers, "Character
# counting in a text"). The messages start with one and quote what officers typed.
TEXT_LIMIT = 5000
MORE = "\n… (ดูรายการทั้งหมดในแท็บ ตรวจสอบข้อมูล)"
OPEN = (Timeliness.PENDING, Timeliness.NOT_REPORTED)


@dataclass(frozen=True)
class Message:
    """A message and its identity: the same kind, quarter, round and edition is never sent twice."""

    kind: Action  # REMIND or ANNOUNCE
    quarter: str
    round_month: str
    edition: str  # the day it is for, in Bangkok: a rerun that day is the same edition
    text: str

    @property
    def identity(self) -> str:
        return f"{self.kind}:{self.quarter}:{self.round_month}:{self.edition}"


def _round_of(result: DistrictResult, month: Month) -> Round | None:
    return next((r for r in result.rounds if r.month == month), None)


def _edition(moment: datetime) -> str:
    return to_bangkok(moment).date().isoformat()


def reminder(outcome: Outcome, config: Config) -> Message | None:
    """Before the deadline of the current month's round: who has not reported yet; None if nobody."""
    month = Month.of(to_bangkok(outcome.as_of))
    rounds = [(r, _round_of(r, month)) for r in outcome.districts]
    missing = [r.district.name for r, round_ in rounds if round_ is not None and round_.timeliness in OPEN]
    if not missing or all(round_ is None for _, round_ in rounds):
        return None
    due = next(round_.due for _, round_ in rounds if round_ is not None)
    lines = [
        f"📋 แจ้งเตือนการรายงาน{config.province.mission} {outcome.quarter.label} รอบเดือน {month.label}",
        f"กำหนดส่งภายในวันที่ {format_thai_date(due.date())} เวลา {due:%H.%M} น.",
        f"อำเภอที่ยังไม่ได้รายงาน ({len(missing)} อำเภอ): " + ", ".join(f"อำเภอ{name}" for name in missing),
    ]
    if config.province.form_url:
        lines.append(f"รายงานได้ที่ {config.province.form_url}")
    lines.append(config.province.office)
    text = _fit(Numerals(config.brief.thai_numerals)("\n".join(lines)))
    return Message(Action.REMIND, outcome.quarter.code, month.iso, _edition(outcome.as_of), text)


def announcement(
    outcome: Outcome, config: Config, *, spreadsheet_url: str = "", brief_url: str = ""
) -> Message | None:
    """After a deadline: timeliness of the round just closed, every grade, what the lowest need; the
    links of the latest brief and of the spreadsheet."""
    as_of = to_bangkok(outcome.as_of)
    closed = [r for result in outcome.districts for r in result.rounds if r.due < as_of]
    if not closed:
        return None
    month = max(r.month for r in closed)
    by_timeliness: dict[Timeliness, list[str]] = {t: [] for t in Timeliness}
    for result in outcome.districts:
        round_ = _round_of(result, month)
        if round_ is not None:
            late = f" ({round_.days_late} วัน)" if round_.timeliness is Timeliness.LATE else ""
            by_timeliness[round_.timeliness].append(result.district.name + late)
    is_final = month == outcome.quarter.months[-1]
    lines = [
        f"📣 สรุปผลการรายงาน{config.province.mission} {outcome.quarter.label} รอบเดือน {month.label}"
        + (" (รอบสุดท้ายของไตรมาส)" if is_final else ""),
        "ส่งตรงเวลา: " + (", ".join(by_timeliness[Timeliness.ON_TIME]) or "-"),
        "ส่งช้า: " + (", ".join(by_timeliness[Timeliness.LATE]) or "-"),
        "ยังไม่รายงาน: " + (", ".join(by_timeliness[Timeliness.NOT_REPORTED]) or "-"),
        "",
        "ระดับรายอำเภอ: " + ", ".join(f"{r.district.name} {grade_text(r)}" for r in outcome.districts),
    ]
    lowest = _lowest(outcome.districts)
    if lowest:
        lines.append("สิ่งที่ต้องทำเพื่อเลื่อนระดับ:")
        lines.extend(f"- {r.district.name}: {needs_text(r)}" for r in lowest)
    problems = _problems(outcome)
    if problems:
        lines.append("ข้อมูลที่ต้องแก้ไข:")
        lines.extend(f"- {p}" for p in problems)
    if brief_url:
        lines.append(f"สรุปสำหรับผู้บริหาร: {brief_url}")
    if spreadsheet_url:
        lines.append(f"ดูรายละเอียด: {spreadsheet_url}")
    text = _fit(Numerals(config.brief.thai_numerals)("\n".join(lines)))
    return Message(Action.ANNOUNCE, outcome.quarter.code, month.iso, _edition(outcome.as_of), text)


def _lowest(results: tuple[DistrictResult, ...]) -> list[DistrictResult]:
    graded = [r for r in results if r.grade is not None and r.next_grade is not None]
    if not graded:
        return []
    worst = max(r.grade for r in graded if r.grade is not None)  # "D" sorts after "A"
    return [r for r in graded if r.grade == worst]


def _problems(outcome: Outcome) -> list[str]:
    """Each unresolved problem of the responses (of a quarter not closed) with whom it concerns, where it
    is, why, and what to do, in tab and row order: the tab is named, since a relinked form answers in more
    than one. The base year's are the coordinator's, not the districts'."""
    issues = sorted((i for i in outcome.issues if i.open and not i.base_year), key=lambda i: (i.tab, i.row))
    return [
        f"อำเภอ{i.district or '(ไม่ระบุ)'} — {_sent(i.sender)}แท็บ “{i.tab}” แถวที่ {i.row}: "
        f"{'โปรดตรวจสอบ: ' if i.flagged else ''}{i.reason}\n  วิธีแก้ไข: {i.remedy}"
        for i in issues
    ]


def _sent(sender: Sender) -> str:
    parts = [f"ส่งเมื่อ {format_thai_moment(sender.submitted)}"] if sender.submitted else []
    if sender.reporter:
        parts.append(f"โดย {sender.reporter}")
    if sender.phone:
        parts.append(f"โทร. {sender.phone}")
    return " ".join(parts) + " " if parts else ""


def _fit(text: str) -> str:
    """The text whole when LINE takes it; else its first whole lines and where to read the rest."""
    fitted = fit(text, TEXT_LIMIT, lambda kept: MORE)
    if fitted == text:
        return text
    return fitted.removesuffix(MORE).rsplit("\n", 1)[0] + MORE
