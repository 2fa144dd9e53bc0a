"""``otop-sync``: parse the options, call the use case, turn errors into one line and an exit status."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import TYPE_CHECKING

from otop_sync.checkup import check_source
from otop_sync.config import Config
from otop_sync.demo import DEMO_AS_OF, demo_tabs
from otop_sync.errors import BriefError, OtopSyncError, UsageError
from otop_sync.line import check_settings
from otop_sync.outcome import Outcome, as_json
from otop_sync.periods import BANGKOK, Quarter, format_be_datetime, to_bangkok
from otop_sync.runlock import LOCK_FILE, run_lock
from otop_sync.runs import RunBook, RunRecord, summary_line
from otop_sync.settings import (
    config_dir,
    line_endpoint,
    line_token,
    load_config,
    sheets_endpoint,
    shipped_dir,
)
from otop_sync.sources.contract import Source
from otop_sync.sources.memory import MemorySource
from otop_sync.sources.workbook import WorkbookSource, write_new_workbook
from otop_sync.sync import sync
from otop_sync.tables import grade_text, needs_text, rounded

if TYPE_CHECKING:
    from otop_sync.brief import BriefFiles

DEMO_WORKBOOK = Path("otop-sync-demo.xlsx")
log = logging.getLogger("otop_sync")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="otop-sync: %(message)s", stream=sys.stderr)
    try:
        return int(args.command(args))
    except OtopSyncError as exc:
        print(f"otop-sync: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("otop-sync: interrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        metavar="DIR",
        help="the province's configuration folder "
        "(default: $OTOP_SYNC_CONFIG, else the one shipped with otop_sync)",
    )
    parser = argparse.ArgumentParser(
        prog="otop-sync",
        description="Grade the districts' OTOP mission reports and write the results to the spreadsheet.",
    )
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")
    sources = argparse.ArgumentParser(add_help=False)
    source = sources.add_mutually_exclusive_group()
    source.add_argument("--workbook", metavar="PATH", type=Path, help="a local .xlsx workbook")
    source.add_argument("--spreadsheet", metavar="KEY", help="a Google Sheet, by its key")
    when = argparse.ArgumentParser(add_help=False)
    when.add_argument(
        "--as-of",
        metavar="DATETIME",
        type=_as_of,
        help="grade as if it were then (ISO 8601; Asia/Bangkok without an offset; default now)",
    )
    when.add_argument(
        "--quarter",
        metavar="2567Q4",
        type=_quarter,
        help="the quarter to summarise (default: the quarter of the as-of date)",
    )

    run = commands.add_parser(
        "run",
        parents=[common, sources, when],
        help="one sync: read, validate, grade, write the tabs, the brief",
    )
    run.add_argument(
        "--regrade",
        action="store_true",
        help="recompute every quarter in the responses, not only the current one",
    )
    run.add_argument("--dry-run", action="store_true", help="compute and report, write nothing")
    run.add_argument("--json", action="store_true", help="print the result as JSON on standard output")
    run.add_argument("--no-brief", action="store_true", help="write the tabs but not the brief")
    run.set_defaults(command=_run)

    brief = commands.add_parser(
        "brief", parents=[common, sources, when], help="render the brief from the spreadsheet; write no tab"
    )
    brief.set_defaults(command=_brief)

    qr = commands.add_parser("qr", parents=[common], help="write the form's QR code as SVG and PNG")
    qr.add_argument("--output", metavar="DIR", type=Path, help="where (default: the brief's folder)")
    qr.set_defaults(command=_qr)

    for kind, words in (
        ("remind", "remind the districts that have not reported, in the LINE group"),
        ("announce", "announce timeliness and grades after a deadline, in the LINE group"),
    ):
        message = commands.add_parser(kind, parents=[common, sources, when], help=words)
        message.add_argument("--dry-run", action="store_true", help="print the message, send nothing")
        message.set_defaults(command=_message, kind=kind)

    schedule = commands.add_parser(
        "schedule", parents=[common, sources], help="run unattended on the schedule"
    )
    schedule.add_argument(
        "--list", action="store_true", help="show the jobs and their next fire times, then exit"
    )
    schedule.add_argument("--as-of", metavar="DATETIME", type=_as_of, help="with --list: as if it were then")
    schedule.set_defaults(command=_schedule)

    status = commands.add_parser("status", parents=[common], help="the last runs, the next one, and health")
    status.add_argument("--check", action="store_true", help="exit 1 when a due run has not succeeded")
    status.set_defaults(command=_status)

    check = commands.add_parser(
        "check", parents=[common, sources], help="check access, tabs and question titles, and say what to fix"
    )
    check.set_defaults(command=_check, as_of=None, dry_run=True)  # a check writes nothing

    demo = commands.add_parser("demo", parents=[common], help="write a sample workbook to try otop_sync on")
    demo.add_argument(
        "path", metavar="PATH", type=Path, nargs="?", help=f"where to write it (default: {DEMO_WORKBOOK})"
    )
    demo.add_argument("--output", metavar="PATH", type=Path, help="the same as PATH")
    demo.add_argument("--force", action="store_true", help="overwrite an existing file")
    demo.set_defaults(command=_demo)
    return parser


def _as_of(text: str) -> datetime:
    try:
        return to_bangkok(datetime.fromisoformat(text))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 date-time, like 2024-09-16T08:00"
        ) from None


def _quarter(text: str) -> Quarter:
    try:
        return Quarter.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


@dataclass(frozen=True)
class _Plan:
    source: Source
    as_of: datetime


def _plan(args: argparse.Namespace, config: Config, now: datetime) -> _Plan:
    """Which spreadsheet to use, and "now": the demo workbook, when nothing else is named, is graded as
    of the morning after its quarter's last deadline unless --as-of says otherwise."""
    key = args.spreadsheet or (None if args.workbook else config.google.spreadsheet_key)
    if key:
        return _Plan(google_source(key, config), args.as_of or now)
    if args.workbook:
        return _Plan(WorkbookSource(args.workbook), args.as_of or now)
    if config.province.workbook:
        return _Plan(WorkbookSource(Path(config.province.workbook)), args.as_of or now)
    if args.as_of is None:
        log.info("grading the demo as of %s (use --as-of to change)", DEMO_AS_OF.isoformat())
    as_of = args.as_of or DEMO_AS_OF
    if DEMO_WORKBOOK.exists():
        log.info("no workbook or spreadsheet configured: using the demo workbook %s", DEMO_WORKBOOK)
        return _Plan(WorkbookSource(DEMO_WORKBOOK), as_of)
    if getattr(args, "dry_run", False):
        # A dry run writes nothing, not even the demo workbook: the demo stays in memory.
        log.info("no workbook or spreadsheet configured: grading the demo in memory (dry run)")
        return _Plan(MemorySource({tab.title: tab.rows for tab in demo_tabs()}), as_of)
    write_new_workbook(DEMO_WORKBOOK, demo_tabs())
    log.info("no workbook or spreadsheet configured: wrote the demo workbook %s", DEMO_WORKBOOK)
    return _Plan(WorkbookSource(DEMO_WORKBOOK), as_of)


def google_source(key: str, config: Config) -> Source:
    # Imported here: the workbook path needs neither gspread nor google-auth.
    from otop_sync.sources.google import GoogleSheetsSource, RetryPolicy, load_credentials

    google = config.google
    return GoogleSheetsSource(
        key,
        credentials=load_credentials(google.credentials_file or None),
        endpoint=sheets_endpoint(config),
        timeout_seconds=google.timeout_seconds,
        retry=RetryPolicy(deadline_seconds=google.retry_for_seconds),
        timezone=config.timezone,
    )


def _run(args: argparse.Namespace) -> int:
    config = load_config(config_dir(args.config))
    now = datetime.now(BANGKOK)
    plan = _plan(args, config, now)
    brief: dict[str, object] | None = None
    brief_error: BriefError | None = None
    started = time.monotonic()
    with _exclusive(config, "manual run", enabled=not args.dry_run):
        outcome = sync(
            plan.source,
            config=config,
            as_of=plan.as_of,
            computed_at=now,
            quarter=args.quarter,
            regrade=args.regrade,
            dry_run=args.dry_run,
        )
        if not (args.dry_run or args.no_brief):
            try:
                files = _write_brief(outcome, config)
                brief = {"html": str(files.html), "pdf": str(files.pdf), "pages": files.pages}
            except BriefError as exc:
                # The tabs are written; the previous brief stays where it was. Report, then fail.
                brief_error, brief = exc, {"error": str(exc)}
    if not args.dry_run:
        line = summary_line(outcome, seconds=time.monotonic() - started, api_calls=plan.source.api_calls)
        log.info("run: ok: %s", line)
        RunBook(Path(config.service.state_dir)).record(RunRecord("manual", datetime.now(BANGKOK), True, line))
    if args.json:
        json.dump({**as_json(outcome), "brief": brief}, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        _print_summary(outcome, brief)
    if brief_error is not None:
        raise brief_error
    return 0


@contextmanager
def _exclusive(config: Config, who: str, *, enabled: bool = True) -> Iterator[None]:
    """The run lock shared with the scheduler; a dry run writes nothing and needs none."""
    if not enabled:
        yield
        return
    lock = Path(config.service.state_dir) / LOCK_FILE
    with run_lock(
        lock, wait_seconds=config.service.lock_wait_seconds, who=who, now=lambda: datetime.now(BANGKOK)
    ):
        yield


def _write_brief(outcome: Outcome, config: Config) -> BriefFiles:
    """The brief with the configuration's folders and options; BriefError when it cannot be made."""
    from otop_sync.brief import write_brief

    settings = config.brief
    override = Path(settings.templates) if settings.templates else None
    return write_brief(
        outcome,
        config,
        output=Path(settings.output),
        folders=[f for f in (override, shipped_dir("templates")) if f],
        thai_numerals=settings.thai_numerals,
        timeout_seconds=settings.timeout_seconds,
    )


def _brief(args: argparse.Namespace) -> int:
    config = load_config(config_dir(args.config))
    now = datetime.now(BANGKOK)
    plan = _plan(args, config, now)
    with _exclusive(config, "brief"):
        outcome = sync(
            plan.source, config=config, as_of=plan.as_of, computed_at=now, quarter=args.quarter, dry_run=True
        )
        files = _write_brief(outcome, config)
    print(f"wrote {files.pdf} ({files.pages} pages) and {files.html}")
    return 0


def _qr(args: argparse.Namespace) -> int:
    from otop_sync.brief import write_qr

    config = load_config(config_dir(args.config))
    svg, png = write_qr(config.province.form_url, args.output or Path(config.brief.output))
    print(f"wrote {svg} and {png} for {config.province.form_url}")
    return 0


def _print_summary(outcome: Outcome, brief: dict[str, object] | None) -> None:
    rows = outcome.rows
    print(f"{outcome.quarter.label} ({outcome.quarter.code}) as of {outcome.as_of.isoformat()}")
    print(
        f"rows read {rows.read}: used {rows.used}, superseded {rows.superseded}, rejected {rows.rejected}; "
        f"flagged {len(outcome.flags)}"
    )
    for result in outcome.districts:
        growth = rounded(result.growth_pct)
        growth_text = f"{growth:+.2f}%" if growth is not None else "-"
        products = result.report.new_products if result.report else "-"
        print(
            f"  {result.district.code} {result.district.name:<14} {grade_text(result):<12} "
            f"products {products!s:>3}  growth {growth_text:>9}  {needs_text(result)}"
        )
    for change in outcome.changes:
        print(
            f"grade changed: {change.code} {change.name} {change.quarter}: {change.before} -> {change.after}"
        )
    print("dry run: nothing written" if outcome.dry_run else "tabs written")
    if brief and "pdf" in brief:
        print(f"brief: {brief['pdf']} ({brief['pages']} pages)")


def _message(args: argparse.Namespace) -> int:
    config = load_config(config_dir(args.config))
    check_settings(config.line.group_id, line_token())
    now = datetime.now(BANGKOK)
    plan = _plan(args, config, now)
    outcome = sync(
        plan.source, config=config, as_of=plan.as_of, computed_at=now, quarter=args.quarter, dry_run=True
    )
    print(
        _deliver(
            args.kind, outcome, config, key=_spreadsheet_key(args, config), dry_run=args.dry_run, show=print
        )
    )
    return 0


def _spreadsheet_key(args: argparse.Namespace, config: Config) -> str:
    return str(getattr(args, "spreadsheet", None) or config.google.spreadsheet_key or "")


def _deliver(
    kind: str, outcome: Outcome, config: Config, *, key: str, dry_run: bool, show: Callable[[str], object]
) -> str:
    """Build the message, show it, and push it unless told not to; says in one line what happened."""
    from otop_sync.line import LineClient
    from otop_sync.messages import announcement, reminder

    if kind == "remind":
        message = reminder(outcome, config)
        nothing = "nothing to send: every district has reported for this round"
    else:
        url = f"https://docs.google.com/spreadsheets/d/{key}/edit" if key else ""
        message = announcement(outcome, config, spreadsheet_url=url)
        nothing = "nothing to send: no round of this quarter has closed yet"
    if message is None:
        return nothing
    show(message.text)
    token = line_token()
    if dry_run:
        return "dry run: nothing was sent"
    if not token or not config.line.group_id:
        return "LINE_CHANNEL_ACCESS_TOKEN or [line] group_id is not set: nothing was sent"
    client = LineClient(
        token=token,
        group_id=config.line.group_id,
        state_dir=Path(config.service.state_dir),
        endpoint=line_endpoint(config),
        clock=lambda: datetime.now(BANGKOK),
    )
    return client.push(message).reason


def _schedule(args: argparse.Namespace) -> int:
    from otop_sync import scheduler

    config = load_config(config_dir(args.config))
    planned = scheduler.plan_jobs(config)
    now = args.as_of or datetime.now(BANGKOK)
    if args.list:
        for line in scheduler.describe(planned, now, count=3):
            print(line)
        return 0
    if not planned:
        raise UsageError("schedule.toml has no [[jobs]]: nothing to run")
    _log_to_file(config)
    runner = scheduler.Runner(
        config,
        make_source=lambda: _plan(args, config, datetime.now(BANGKOK)).source,
        clock=lambda: datetime.now(BANGKOK),
        state_dir=Path(config.service.state_dir),
        render_brief=_write_brief,
        notify=lambda kind, outcome: _deliver(
            kind, outcome, config, key=_spreadsheet_key(args, config), dry_run=False, show=log.info
        ),
    )
    check_settings(config.line.group_id, line_token())
    scheduler.serve(config, runner, now=now)
    return 0


def _log_to_file(config: Config) -> None:
    """Timestamps on every line for a long-running service, and the rotating file if configured."""
    formatter = logging.Formatter(
        "%(asctime)s otop-sync %(levelname)s %(message)s", datefmt="%Y-%m-%dT%H:%M:%S%z"
    )
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # its job bookkeeping is not news
    for handler in logging.getLogger().handlers:
        handler.setFormatter(formatter)
    if config.service.log_file:
        path = Path(config.service.log_file)
        path.parent.mkdir(parents=True, exist_ok=True)
        rotating = RotatingFileHandler(path, maxBytes=1_000_000, backupCount=5, encoding="utf-8")
        rotating.setFormatter(formatter)
        logging.getLogger("otop_sync").addHandler(rotating)


def _status(args: argparse.Namespace) -> int:
    from otop_sync import scheduler

    config = load_config(config_dir(args.config))
    now = datetime.now(BANGKOK)
    book = RunBook(Path(config.service.state_dir))
    planned = scheduler.plan_jobs(config)
    healthy, why = scheduler.health(
        planned, book, now=now, grace=timedelta(hours=config.service.catch_up_hours)
    )
    verdict = ("healthy: " if healthy else "unhealthy: ") + why
    if not args.check:
        records = book.load()
        for job, kinds in sorted(records.items()):
            for kind, record in sorted(kinds.items()):
                when = f"{format_be_datetime(record.at)} ({record.at.isoformat()})"
                print(f"{job}: last {kind} {when}: {record.summary}")
        if not records:
            print("no run recorded yet")
        for line in scheduler.describe(planned, now):
            print(line)
    print(verdict)
    return 0 if healthy or not args.check else 1


def _check(args: argparse.Namespace) -> int:
    config = load_config(config_dir(args.config))
    print(
        f"configuration: {len(config.province.districts)} districts of {config.province.name}, "
        f"{len(config.rubrics)} rubric version(s): ok"
    )
    plan = _plan(args, config, datetime.now(BANGKOK))
    try:
        findings = check_source(plan.source, config.form)
    except OtopSyncError as exc:
        print(f"spreadsheet: {exc}")
        return 1
    for line in findings.lines:
        print(line)
    return 0 if findings.ok else 1


def _demo(args: argparse.Namespace) -> int:
    path: Path = args.path or args.output or DEMO_WORKBOOK
    if path.exists() and not args.force:
        raise UsageError(f"{path} exists; pass --force to overwrite it")
    write_new_workbook(path, demo_tabs())
    print(f"wrote {path}: try `otop-sync run --workbook {path} --as-of {DEMO_AS_OF.isoformat()}`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
