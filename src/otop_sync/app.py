"""One place that wires a run: which spreadsheet, the lock, the clock read once, the sync, the brief, and
the messages. The command line and the scheduler both call it, so the sequence exists once.

Never acts on the wrong data: with no spreadsheet and no workbook configured, the demo is used only by
commands a person runs and reads (``run``, ``brief``, ``check``), and they say so; the unattended ones
(``schedule``, ``remind``, ``announce``) refuse, naming the setting to fill.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from otop_sync.alerts import alert_for
from otop_sync.cells import UNKNOWN_DISTRICT
from otop_sync.checkup import (
    Findings,
    check_drive,
    check_folders,
    check_line,
    check_renderer,
    check_schedule,
    check_source,
)
from otop_sync.config import Action, Config, ScheduledJob
from otop_sync.demo import DEMO_AS_OF, DEMO_PROVINCE, demo_tabs
from otop_sync.errors import BriefError, OtopSyncError, PublishError, Stopped, UsageError
from otop_sync.messages import Message, announcement, reminder
from otop_sync.numerals import Numerals
from otop_sync.outcome import Outcome
from otop_sync.periods import Quarter, fiscal_year_of
from otop_sync.runlock import run_lock
from otop_sync.runs import RunBook, RunRecord, summary_line
from otop_sync.settings import shipped_dir
from otop_sync.sources.contract import Source
from otop_sync.sources.memory import MemorySource
from otop_sync.sources.workbook import WorkbookSource, write_new_workbook
from otop_sync.sync import sync
from otop_sync.tables import BriefLink

if TYPE_CHECKING:
    from otop_sync.brief_files import BriefFiles
    from otop_sync.brief_pdf import WarmRenderer
    from otop_sync.drive import DriveClient, Published
    from otop_sync.google_forms import FormsClient
    from otop_sync.line import LineClient

DEMO_WORKBOOK = Path("otop-sync-demo.xlsx")
NONE_CONFIGURED = "none configured ([google] spreadsheet_key, [province] workbook)"
log = logging.getLogger("otop_sync")


@dataclass(frozen=True)
class Target:
    """The spreadsheet a run works on, the lock that makes runs on it take turns, and what it is called."""

    source: Source
    lock: Path
    name: str
    demo: bool = False


class Delivery(Protocol):
    @property
    def sent(self) -> bool: ...

    @property
    def reason(self) -> str:
        """What became of the message, in one line."""
        ...


class Channel(Protocol):
    """Where messages go (the LINE group today): one method, so that another channel is one new module."""

    def push(self, message: Message) -> Delivery: ...


@dataclass(frozen=True)
class Result:
    """What a run did, for the command line to print and the scheduler to log."""

    outcome: Outcome
    summary: str  # one line: counts, grades changed, seconds, API calls
    brief: BriefFiles | None = None
    brief_error: BriefError | None = None
    published: Published | None = None  # this run's edition on Google Drive
    message: Message | None = None
    delivery: str = ""  # what became of the message, in one line

    @property
    def line(self) -> str:
        """The run in one line, for the log and the record of runs."""
        return f"{self.delivery} ({self.summary})" if self.delivery else self.summary


class App:
    def __init__(
        self,
        config: Config,
        *,
        clock: Callable[[], datetime],
        channel: Callable[[], Channel | None] | None = None,
        renderer: WarmRenderer | None = None,
    ) -> None:
        """`renderer`: a renderer kept warm by a long-running service; None renders each brief afresh."""
        self.config = config
        self.clock = clock
        self.renderer = renderer
        self._channel = channel or self.line_client
        self.book = RunBook(config.service.state_dir)

    # Which spreadsheet -----------------------------------------------------------------------------

    def target(
        self,
        *,
        command: str,
        workbook: Path | None = None,
        spreadsheet: str | None = None,
        unattended: bool = False,
        writes: bool = True,
    ) -> Target:
        """The spreadsheet named on the command line, else the configured one, else the demo, for a
        person's command only (`command` names the refusal). The demo workbook is written in the current
        folder on first use by a run that `writes`; a run that writes nothing grades it in memory."""
        google = self.config.google
        key = spreadsheet or (None if workbook else google.spreadsheet_key)
        if key:
            return Target(self._google(key), self._lock_for(f"spreadsheet {key}"), f"spreadsheet {key}")
        path = workbook or self.config.province.workbook
        if path is not None:
            return Target(WorkbookSource(path, self.config.workbook), _beside(path), str(path))
        if unattended:
            raise UsageError(
                f"`otop-sync {command}` does not run on the demo workbook, since it acts unattended or "
                "messages real people: set [google] spreadsheet_key (or [province] workbook) in "
                "province.toml, or pass --spreadsheet KEY or --workbook PATH"
            )
        if self.config.province.code != DEMO_PROVINCE:
            # The demo is Nong Khai's: graded against another province's districts, 31 of its 33 rows
            # would be rejected, and `check` would call the wrong spreadsheet fine.
            raise UsageError(
                f"no spreadsheet or workbook is configured for {self.config.province.name} ([google] "
                "spreadsheet_key or [province] workbook in province.toml), and the demo is Nong Khai's: set "
                "one, or pass --spreadsheet KEY or --workbook PATH"
            )
        if not DEMO_WORKBOOK.exists() and not writes:
            source: Source = MemorySource({tab.title: tab.rows for tab in demo_tabs()})
            return Target(source, _beside(DEMO_WORKBOOK), "the demo, in memory", demo=True)
        if not DEMO_WORKBOOK.exists():
            write_new_workbook(DEMO_WORKBOOK, demo_tabs())
            log.info("wrote the demo workbook %s", DEMO_WORKBOOK)
        source = WorkbookSource(DEMO_WORKBOOK, self.config.workbook)
        return Target(source, _beside(DEMO_WORKBOOK), f"the demo workbook {DEMO_WORKBOOK}", demo=True)

    def _google(self, key: str) -> Source:
        # Imported here: the workbook path needs neither gspread nor google-auth.
        from otop_sync.google_api import load_credentials
        from otop_sync.http_transport import SHEETS_RETRY
        from otop_sync.sources.google import GoogleSheetsSource

        google = self.config.google
        return GoogleSheetsSource(
            key,
            credentials=load_credentials(str(google.credentials_file) if google.credentials_file else None),
            endpoint=google.endpoint,
            timeout_seconds=google.timeout_seconds,
            retry=replace(SHEETS_RETRY, deadline_seconds=google.retry_for_seconds),
            timezone=self.config.timezone,
        )

    def forms(self, form_id: str, *, edit: bool) -> FormsClient:
        """The Forms API for one form, asking for the scope to edit it only when `edit`."""
        from otop_sync.google_api import load_credentials
        from otop_sync.google_forms import SCOPE_EDIT, SCOPE_READ, FormsClient

        google = self.config.google
        credentials = load_credentials(
            str(google.credentials_file) if google.credentials_file else None,
            scopes=[SCOPE_EDIT if edit else SCOPE_READ],
        )
        return FormsClient(
            form_id,
            credentials=credentials,
            endpoint=google.forms_endpoint,
            timeout_seconds=google.timeout_seconds,
            retry_for_seconds=google.retry_for_seconds,
        )

    def _lock_for(self, what: str) -> Path:
        digest = hashlib.sha256(what.encode()).hexdigest()[:16]
        return self.config.service.state_dir / f"otop-sync-{digest}.lock"

    # Running: the verbs ---------------------------------------------------------------------------------

    def sync(
        self,
        target: Target,
        *,
        who: str,
        as_of: datetime | None = None,
        quarter: Quarter | None = None,
        regrade: bool = False,
        dry_run: bool = False,
        brief: bool = True,
        before_write: Callable[[], None] | None = None,
    ) -> Result:
        """Read, grade and write the tabs; then render the brief (`brief`) and publish it ([drive]).
        `dry_run`: compute and report, write nothing. `before_write` may raise to abandon the run
        before its first write (the service stopping)."""
        return self._run(
            Action.SYNC,
            target,
            who=who,
            as_of=as_of,
            quarter=quarter,
            regrade=regrade,
            write=not dry_run,
            brief=brief and not dry_run,
            before_write=before_write,
        )

    def render_brief(
        self, target: Target, *, who: str, as_of: datetime | None = None, quarter: Quarter | None = None
    ) -> Result:
        """The brief again from the spreadsheet as it is, published like any edition; no tab is written."""
        return self._run(Action.SYNC, target, who=who, as_of=as_of, quarter=quarter, write=False, brief=True)

    def message(
        self,
        action: Action,
        target: Target,
        *,
        who: str,
        as_of: datetime | None = None,
        quarter: Quarter | None = None,
        send: bool = True,
    ) -> Result:
        """A reminder or an announcement (`action`), built from the spreadsheet and sent to the LINE group
        (`send`; else only built)."""
        if action is Action.SYNC:
            raise UsageError("a sync is not a message")
        return self._run(action, target, who=who, as_of=as_of, quarter=quarter, send=send)

    def run_job(
        self, job: ScheduledJob, target: Target, *, before_write: Callable[[], None] | None = None
    ) -> Result:
        """One scheduled job of schedule.toml: its sync (with its brief) or its message."""
        who = f"scheduled {job.name}"
        if job.action is Action.SYNC:
            return self.sync(target, who=who, brief=job.brief, before_write=before_write)
        return self.message(job.action, target, who=who)

    def perform(self, job: str, call: Callable[[], Result], *, tell: bool = False) -> Result:
        """Run `call` as `job` and record how it went, the same way for a scheduled job and a manual run:
        a success; a failure (an error, or a brief not written or not published: the tabs stand); or owed,
        when the service stopping abandoned it before any write. `tell`: alert the operator when a streak
        of failures begins or ends (the scheduled jobs)."""
        before = self.book.load().get(job, {}) if tell else {}
        try:
            result = call()
        except Stopped as exc:
            self.book.record(RunRecord(job, self.clock(), False, str(exc)), kind="owed")
            raise
        except Exception as exc:
            reason = str(exc) if isinstance(exc, OtopSyncError) else f"{type(exc).__name__}: {exc}"
            self.record(job, False, reason)
            if tell:
                self.alert(job, ok=False, summary=reason, before=before)
            raise
        ok = result.brief_error is None
        summary = result.line if ok else str(result.brief_error)
        self.record(job, ok, summary)
        if tell:
            self.alert(job, ok=ok, summary=summary, before=before)
        return result

    def _run(
        self,
        action: Action,
        target: Target,
        *,
        who: str,
        as_of: datetime | None = None,
        quarter: Quarter | None = None,
        regrade: bool = False,
        write: bool = True,
        brief: bool = False,
        send: bool = True,
        before_write: Callable[[], None] | None = None,
    ) -> Result:
        """One run, start to end, under the target's lock when it changes anything: read and grade; then
        for a sync, write the tabs (`write`) and the brief (`brief`); for a message, build it and send it
        (`send`). The clock is read once; a demo without --as-of is graded as of its own morning."""
        started = time.monotonic()
        now = self.clock()
        if target.demo and as_of is None:
            log.info("grading the demo as of %s (use --as-of to change)", DEMO_AS_OF.isoformat())
        as_of = as_of or (DEMO_AS_OF if target.demo else now)
        sending = action is not Action.SYNC and send
        changes = (action is Action.SYNC and (write or brief)) or sending
        if target.demo and changes:
            log.info("no spreadsheet or workbook is configured: using %s", target.name)
        with self._lock(target, who) if changes else nullcontext():
            published = self.last_published()
            outcome = sync(
                target.source,
                config=self.config,
                as_of=as_of,
                computed_at=now,
                quarter=quarter,
                regrade=regrade,
                dry_run=not (action is Action.SYNC and write),
                before_write=before_write,
                brief=BriefLink(published.link, published.at) if published else None,
            )
            files, failure, edition, message, delivery = None, None, None, None, ""
            if action is Action.SYNC and brief:
                files, failure = self._brief(outcome)
                if files is not None and failure is None and self.config.drive.configured:
                    edition, failure = self._publish(files)
            elif action is not Action.SYNC:
                brief_url = published.link if published else ""
                message, delivery = self._message(action, outcome, send=sending, brief_url=brief_url)
        self._warn_if_another_province(outcome, target)
        summary = summary_line(outcome, seconds=time.monotonic() - started, api_calls=target.source.api_calls)
        return Result(outcome, summary, files, failure, edition, message, delivery)

    def _warn_if_another_province(self, outcome: Outcome, target: Target) -> None:
        """Most rows naming districts the configuration does not list: the spreadsheet is likely another
        province's (or the configuration is), which 31 rejected rows of 33 do not say by themselves."""
        unknown = sum(any(r.startswith(UNKNOWN_DISTRICT) for r in j.reasons) for j in outcome.rejections)
        if unknown >= 3 and unknown * 2 > outcome.rows.read:
            province = self.config.province
            log.warning(
                "%d of %d rows name districts that province.toml does not list: is %s another province's? "
                "(the configuration is %s's, %d districts)",
                unknown,
                outcome.rows.read,
                target.name,
                province.name,
                len(province.districts),
            )

    @contextmanager
    def _lock(self, target: Target, who: str) -> Iterator[None]:
        with run_lock(
            target.lock, wait_seconds=self.config.service.lock_wait_seconds, who=who, now=self.clock
        ):
            yield

    def record(self, job: str, ok: bool, summary: str) -> None:
        self.book.record(RunRecord(job, self.clock(), ok, summary))

    def _brief(self, outcome: Outcome) -> tuple[BriefFiles | None, BriefError | None]:
        """The brief, or why not: the tabs are written already, and the previous brief stays."""
        from otop_sync.brief_files import write_brief

        settings = self.config.brief
        try:
            return (
                write_brief(
                    outcome,
                    self.config,
                    output=settings.output,
                    folders=[f for f in (settings.templates, shipped_dir("templates")) if f],
                    timeout_seconds=settings.timeout_seconds,
                    renderer=self.renderer,
                ),
                None,
            )
        except BriefError as exc:
            return None, exc

    def _publish(self, files: BriefFiles) -> tuple[Published | None, BriefError | None]:
        """The edition on Google Drive ([drive]), or why not: the brief stays on disk either way."""
        try:
            published = self.drive().publish([files.pdf, files.html], latest=files.newest, at=self.clock())
        except OtopSyncError as exc:
            return None, PublishError(f"the brief is written ({files.pdf}) but not published: {exc}")
        if published is None:
            return None, None
        log.info("brief published: %s", published.link)
        try:
            published.save(self.config.service.state_dir)
        except OtopSyncError as exc:
            return published, PublishError(str(exc))
        return published, None

    def drive(self) -> DriveClient:
        """Google Drive, for the brief: only publishing and `check` ask for the Drive scope."""
        from otop_sync.drive import SCOPE, DriveClient
        from otop_sync.google_api import load_credentials

        google = self.config.google
        credentials = load_credentials(
            str(google.credentials_file) if google.credentials_file else None, scopes=[SCOPE]
        )
        return DriveClient(
            self.config.drive,
            credentials=credentials,
            timeout_seconds=google.timeout_seconds,
            retry_for_seconds=google.retry_for_seconds,
        )

    def status(self, now: datetime) -> tuple[bool, str, list[str]]:
        """Whether the service is healthy and why (the HEALTHCHECK), and what `otop-sync status` lists:
        each job's last success, failure or debt, then each job's next fire time."""
        from otop_sync import jobs
        from otop_sync.periods import format_be_datetime

        planned = jobs.plan_jobs(self.config)
        grace = timedelta(hours=self.config.service.catch_up_hours)
        healthy, why = jobs.health(planned, self.book, now=now, grace=grace)
        records = self.book.load()
        lines = [
            f"{job}: last {kind} {format_be_datetime(record.at)} ({record.at.isoformat()}): {record.summary}"
            for job, kinds in sorted(records.items())
            for kind, record in sorted(kinds.items())
        ] or ["no run recorded yet"]
        return (
            healthy,
            ("healthy: " if healthy else "unhealthy: ") + why,
            [*lines, *jobs.describe(planned, now)],
        )

    def qr(self, output: Path | None = None) -> tuple[Path, Path]:
        """The form's QR code (SVG and PNG) for the province's letter, in `output` or the briefs folder."""
        from otop_sync.brief_files import write_qr

        return write_qr(self.config.province.form_url, output or self.config.brief.output)

    def last_published(self) -> Published | None:
        """The latest brief on Google Drive, as the last publication recorded it; None without [drive]."""
        if not self.config.drive.configured:
            return None
        from otop_sync.drive import last_published

        return last_published(self.config.service.state_dir, self.config.drive)

    # Messages ----------------------------------------------------------------------------------------

    def _message(
        self, action: Action, outcome: Outcome, *, send: bool, brief_url: str = ""
    ) -> tuple[Message | None, str]:
        """`brief_url`: the latest brief on Drive, for the announcement (read once, with the run's tabs)."""
        if action is Action.REMIND:
            message = reminder(outcome, self.config)
            nothing = "nothing to send: every district has reported for this round"
        else:
            key = self.config.google.spreadsheet_key
            url = f"https://docs.google.com/spreadsheets/d/{key}/edit" if key else ""
            message = announcement(outcome, self.config, spreadsheet_url=url, brief_url=brief_url)
            nothing = "nothing to send: no round of this quarter has closed yet"
        if message is None:
            return None, nothing
        if not send:
            return message, "dry run: nothing was sent"
        channel = self._channel()
        if channel is None:
            return message, "LINE_CHANNEL_ACCESS_TOKEN or [line] group_id is not set: nothing was sent"
        try:
            return message, channel.push(message).reason
        except OtopSyncError as exc:
            # Whole, so that a person can send it by hand: a reminder lost is a district not reminded.
            log.error("%s was not sent (%s); send it by hand:\n%s", message.kind, exc, message.text)
            raise

    def alert(self, job: str, *, ok: bool, summary: str, before: Mapping[str, RunRecord]) -> None:
        """Tell the operator's LINE chat that an unattended job began to fail, or succeeds again
        (alerts.alert_for). An alert that cannot be sent is logged whole; the run's outcome stands."""
        alert = alert_for(
            job,
            ok=ok,
            summary=summary,
            at=self.clock(),
            before=before,
            province=self.config.province.name,
            digits=Numerals(self.config.brief.thai_numerals),
        )
        if alert is None:
            return
        line = self.config.line
        if not line.alert_to or not line.token:
            return  # not asked for: the failure is in the log and in `otop-sync status`
        from otop_sync.line import LineClient

        client = LineClient(
            token=line.token,
            group_id=line.alert_to,
            state_dir=self.config.service.state_dir,
            endpoint=line.endpoint,
            clock=self.clock,
        )
        try:
            log.info("alert: %s", client.push(alert).reason)
        except OtopSyncError as exc:
            log.warning("the alert could not be sent to LINE (%s):\n%s", exc, alert.text)

    def check(self, make_target: Callable[[], Target]) -> Findings:
        """Everything a run will need, each problem one line with its fix; the target is made here, so
        that credentials that cannot be used are one of those lines too."""
        config = self.config
        findings = Findings(
            (
                f"configuration: {len(config.province.districts)} districts of {config.province.name}, "
                f"{len(config.rubrics)} rubric version(s): ok",
            ),
            True,
        )
        folders = [
            ("[service] state_dir", "state", config.service.state_dir),
            ("[brief] output", "briefs", config.brief.output),
        ]
        try:
            target = make_target()
            if target.demo:
                findings += Findings((f"spreadsheet: {NONE_CONFIGURED}: the demo",), True)
            findings += check_source(target.source, config.form)
            if isinstance(target.source, WorkbookSource):
                # The workbook is replaced through a new file beside it, and its lock lies there too.
                folders.append(("[province] workbook", "workbook", target.source.path.resolve().parent))
        except OtopSyncError as exc:
            findings += Findings((f"spreadsheet: {exc}",), False)
        return (
            findings
            + self._check_form()
            + check_schedule(config)
            + check_line(config, self.line_client)
            + check_drive(config, self.drive)
            + check_renderer(config)
            + check_folders(folders)
        )

    def _check_form(self) -> Findings:
        """The configured form against the configuration, read with the read-only scope; nothing when
        no form is configured."""
        google = self.config.google
        if google.form_id is None:
            return Findings(("form: no [google] form_id: the form is not checked",), True)
        from otop_sync.form_questions import expected_form
        from otop_sync.google_forms import check as check_form
        from otop_sync.quarter_life import offered_months

        try:
            form = self.forms(google.form_id, edit=False).get()
        except OtopSyncError as exc:
            return Findings((f"form: {exc}",), False)
        now = self.clock()
        months = offered_months(now, self.config.deadlines)
        spec = expected_form(self.config, fiscal_year=fiscal_year_of(now), months=months)
        link, unfollowed = self._form_link(str(form.get("responderUri", "")))
        lines = check_form(form, spec, google.spreadsheet_key, form_link=link) + unfollowed
        return Findings(tuple(line for line, _ in lines), all(ok for _, ok in lines))

    def _form_link(self, responder: str) -> tuple[str | None, list[tuple[str, bool]]]:
        """Where [province] form_url leads: itself when it is a form's own link, else where its redirects
        go (a forms.gle short link). One that cannot be followed from here is left to a person."""
        from otop_sync.google_forms import follow_link

        url = self.config.province.form_url
        if not url:
            return None, []
        try:
            return follow_link(url, timeout_seconds=self.config.google.timeout_seconds), []
        except OtopSyncError as exc:
            return None, [
                (
                    f"form: [province] form_url could not be followed ({exc}): open it and check that it "
                    f"leads to {responder or 'the form'}",
                    True,
                )
            ]

    def line_client(self) -> LineClient | None:
        line = self.config.line
        if not line.token or not line.group_id:
            return None
        from otop_sync.line import LineClient

        return LineClient(
            token=line.token,
            group_id=line.group_id,
            state_dir=self.config.service.state_dir,
            endpoint=line.endpoint,
            clock=self.clock,
        )


def _beside(workbook: Path) -> Path:
    """The lock of a workbook, beside it: every run on that file takes turns, wherever it starts and
    whichever link it goes through."""
    workbook = workbook.resolve()
    return workbook.with_name(f".{workbook.name}.otop-sync-lock")
