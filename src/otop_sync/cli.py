"""``otop-sync``: parse the options, call the use case, turn errors into one line and an exit status.

Each command imports what it needs when it runs: `otop-sync --help` and `--version` import almost
nothing, and no command imports the PDF renderer or the Google client it does not use.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

from otop_sync import __version__
from otop_sync.errors import BriefError, OtopSyncError, UsageError

# Not imported at start: typing, logging (which brings traceback and tokenize), json, datetime and
# pathlib cost more than argparse itself, and `--help` needs none of them.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime
    from pathlib import Path

    from otop_sync.app import App, Result, Target
    from otop_sync.brief_pdf import WarmRenderer
    from otop_sync.form_questions import FormSpec
    from otop_sync.outcome import Outcome
    from otop_sync.periods import Quarter
    from otop_sync.province_setup import NewDistrict


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    import logging

    # otop_sync's own lines, and only the warnings of the libraries (fontTools tells every table it
    # subsets at INFO).
    logging.basicConfig(level=logging.WARNING, format="otop-sync: %(message)s", stream=sys.stderr)
    logging.getLogger("otop_sync").setLevel(logging.INFO)
    try:
        return int(args.command(args))
    except OtopSyncError as exc:
        print(f"otop-sync: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("otop-sync: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`otop-sync run --json | head`): what it read was its choice, and the run
        # itself is done. Quiet, with the status a shell gives a process ended by SIGPIPE; standard
        # output goes to /dev/null so that Python's own flush at exit has nothing more to say.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE


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
    parser.add_argument("--version", action="version", version=f"otop-sync {__version__}")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")
    sources = argparse.ArgumentParser(add_help=False)
    source = sources.add_mutually_exclusive_group()
    source.add_argument("--workbook", metavar="PATH", type=_path, help="a local .xlsx workbook")
    source.add_argument(
        "--spreadsheet", metavar="KEY", type=_spreadsheet, help="a Google Sheet, by its key or its URL"
    )
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
    qr.add_argument("--output", metavar="DIR", type=_path, help="where (default: the brief's folder)")
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
    schedule.add_argument(
        "--run",
        metavar="JOB",
        help="run this job of schedule.toml once now, as the service runs it, and exit (a success "
        "clears the job's failure from `status --check`)",
    )
    schedule.set_defaults(command=_schedule)

    status = commands.add_parser("status", parents=[common], help="the last runs, the next one, and health")
    status.add_argument("--check", action="store_true", help="exit 1 when a due run has not succeeded")
    status.set_defaults(command=_status)

    check = commands.add_parser(
        "check", parents=[common, sources], help="check access, tabs and question titles, and say what to fix"
    )
    check.set_defaults(command=_check, as_of=None, dry_run=True)  # a check writes nothing

    form = commands.add_parser(
        "form", parents=[common], help="print the Google Form the configuration expects, question by question"
    )
    form.add_argument(
        "--fiscal-year",
        metavar="2568",
        type=_fiscal_year,
        help="a B.E. fiscal year whose months the month question offers too, to prepare its form "
        "(always offered: every month whose quarter is not closed, and the current fiscal year's)",
    )
    form.add_argument("--json", action="store_true", help="print it as JSON, for a script")
    form.add_argument(
        "--apply",
        metavar="FORM_ID",
        nargs="?",
        const="",
        type=_form_id,
        help="make the Google Form's questions match, through the Forms API (default: [google] form_id)",
    )
    form.add_argument("--dry-run", action="store_true", help="with --apply: print the changes, make none")
    form.set_defaults(command=_form)

    demo = commands.add_parser("demo", parents=[common], help="write a sample workbook to try otop_sync on")
    demo.add_argument(
        "path",
        metavar="PATH",
        type=_path,
        nargs="?",
        help="where to write it (default: the demo workbook here)",
    )
    demo.add_argument("--output", metavar="PATH", type=_path, help="the same as PATH")
    demo.add_argument("--force", action="store_true", help="overwrite an existing file")
    demo.set_defaults(command=_demo)

    init = commands.add_parser(
        "init", help="write a new province's configuration folder and a blank workbook to fill in"
    )
    init.add_argument("folder", metavar="DIR", type=_path, help="the folder to write (new, or empty)")
    init.add_argument("--code", metavar="41", help="the province's code (two digits)")
    init.add_argument("--name", metavar="อุดรธานี", help="the province's name, without จังหวัด")
    init.add_argument(
        "--district",
        metavar="4101:เมืองอุดรธานี",
        action="append",
        type=_district,
        default=[],
        help="a district's official code and name; once for each district",
    )
    init.add_argument(
        "--base-year",
        metavar="2567",
        type=_fiscal_year,
        help="the fiscal year whose sales the workbook's base-year tab lists (default: the last one)",
    )
    init.add_argument(
        "--workbook-only",
        action="store_true",
        help="write only the workbook, from DIR's configuration (once its blanks are filled in)",
    )
    init.set_defaults(command=_init)
    return parser


def _path(text: str) -> Path:
    from pathlib import Path

    return Path(text)


def _as_of(text: str) -> datetime:
    from datetime import datetime

    from otop_sync.periods import parse_moment

    try:
        datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 date-time, like 2024-09-16T08:00"
        ) from None
    try:
        return parse_moment(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _spreadsheet(text: str) -> str:
    from otop_sync.config import spreadsheet_key

    try:
        return spreadsheet_key(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _quarter(text: str) -> Quarter:
    from otop_sync.periods import Quarter

    try:
        return Quarter.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _district(text: str) -> NewDistrict:
    from otop_sync.province_setup import parse_district

    try:
        return parse_district(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _form_id(text: str) -> str:
    from otop_sync.config import form_id

    if not text:
        return ""  # --apply alone: the configured form
    try:
        return form_id(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _fiscal_year(text: str) -> int:
    if text.isdigit() and 1957 <= int(text) <= 2157:
        raise argparse.ArgumentTypeError(
            f"{text!r} looks like a Christian-Era year: fiscal years are Buddhist Era; did you mean "
            f"{int(text) + 543}?"
        )
    if not (text.isdigit() and 2500 <= int(text) <= 2700):
        raise argparse.ArgumentTypeError(f"{text!r} is not a Buddhist Era fiscal year, like 2568")
    return int(text)


def _app(args: argparse.Namespace, renderer: WarmRenderer | None = None) -> App:
    from otop_sync.app import App
    from otop_sync.settings import config_dir, load_config

    return App(load_config(config_dir(args.config)), clock=_now, renderer=renderer)


def _now() -> datetime:
    from datetime import datetime

    from otop_sync.periods import BANGKOK

    return datetime.now(BANGKOK)


def _target(app: App, args: argparse.Namespace, command: str, **options: bool) -> Target:
    return app.target(command=command, workbook=args.workbook, spreadsheet=args.spreadsheet, **options)


def _run(args: argparse.Namespace) -> int:
    import json
    import logging

    from otop_sync.outcome import as_json

    app = _app(args)

    def sync() -> Result:
        target = _target(app, args, "run", writes=not args.dry_run)
        return app.sync(
            target,
            who="manual run",
            as_of=args.as_of,
            quarter=args.quarter,
            regrade=args.regrade,
            dry_run=args.dry_run,
            brief=not args.no_brief,
        )

    if args.dry_run:
        result = sync()  # writes nothing, and is not recorded
    else:
        # Recorded like a scheduled run: `status` shows it beside the others.
        result = app.perform("manual", sync)
        logging.getLogger("otop_sync").info("run: ok: %s", result.summary)
    brief: dict[str, object] | None = None
    if result.brief is not None:
        brief = {"html": str(result.brief.html), "pdf": str(result.brief.pdf), "pages": result.brief.pages}
        if result.published is not None:
            brief["published"] = result.published.as_json()
        if result.brief_error is not None:  # written, not published
            brief["error"] = str(result.brief_error)
    elif result.brief_error is not None:
        # The tabs are written; the previous brief stays where it was. Report, then fail.
        brief = {"error": str(result.brief_error)}
    if args.json:
        json.dump({**as_json(result.outcome), "brief": brief}, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        _print_summary(result.outcome, brief)
    if result.brief_error is not None:
        raise BriefError(f"{result.brief_error}; the tabs are written, and the previous brief is kept")
    return 0


def _brief(args: argparse.Namespace) -> int:

    app = _app(args)
    result = app.perform(
        "manual",
        lambda: app.render_brief(
            _target(app, args, "brief"), who="brief", as_of=args.as_of, quarter=args.quarter
        ),
    )
    if result.brief_error is not None:
        raise result.brief_error
    assert result.brief is not None
    print(f"wrote {result.brief.pdf} ({result.brief.pages} pages) and {result.brief.html}")
    if result.published is not None:
        print(f"published: {result.published.link}")
    return 0


def _qr(args: argparse.Namespace) -> int:
    app = _app(args)
    svg, png = app.qr(args.output)
    print(f"wrote {svg} and {png} for {app.config.province.form_url}")
    return 0


def _print_summary(outcome: Outcome, brief: dict[str, object] | None) -> None:
    from otop_sync.tables import grade_text, needs_text, rounded

    rows = outcome.rows
    as_of = outcome.as_of.isoformat(timespec="seconds")  # a run without --as-of is graded as of now
    print(f"{outcome.quarter.label} ({outcome.quarter.code}) as of {as_of}")
    print(
        f"rows read {rows.read}: used {rows.used}, superseded {rows.superseded}, rejected {rows.rejected}; "
        f"flagged {len(outcome.flags)}"
    )
    if outcome.after_closing:
        print(
            f"{outcome.after_closing} row(s) arrived after their quarter closed: listed as problems, not "
            "counted; those quarters' grades are unchanged"
        )
    for result in outcome.districts:
        growth = rounded(result.growth_pct)
        growth_text = f"{growth:+.2f}%" if growth is not None else "-"
        products = result.report.new_products if result.report else "-"
        # One language a line: a district's line is Thai, as the tabs are.
        print(
            f"  {result.district.code} {result.district.name:<14} {grade_text(result):<12} "
            f"ผลิตภัณฑ์ {products!s:>3}  อัตราเพิ่ม {growth_text:>9}  {needs_text(result)}"
        )
    if outcome.regrade:
        quarters = sorted({r.quarter for r in outcome.every_quarter} | {outcome.quarter})
        print(f"regraded {len(quarters)} quarter(s): {', '.join(q.code for q in quarters)}")
    for change in outcome.changes:
        print(
            f"grade changed: {change.code} {change.name} {change.quarter}: {change.before} -> {change.after}"
        )
    print("dry run: nothing written" if outcome.dry_run else "tabs written")
    if brief and "pdf" in brief:
        print(f"brief: {brief['pdf']} ({brief['pages']} pages)")
    published = brief.get("published") if brief else None
    if isinstance(published, dict):
        print(f"brief published: {published['link']}")


def _message(args: argparse.Namespace) -> int:
    from otop_sync.config import Action

    app = _app(args)
    # A dry run messages nobody: it may show what the demo would send.
    target = _target(app, args, args.kind, unattended=not args.dry_run, writes=False)
    who = args.kind + (" (dry run)" if args.dry_run else "")

    def message() -> Result:
        return app.message(
            Action(args.kind), target, who=who, as_of=args.as_of, quarter=args.quarter, send=not args.dry_run
        )

    result = message() if args.dry_run else app.perform("manual", message)
    if result.message is not None:
        print(result.message.text)
    print(result.delivery)
    return 0


def _schedule(args: argparse.Namespace) -> int:
    from otop_sync import jobs, scheduler
    from otop_sync.brief_pdf import WarmRenderer

    # One renderer for the service's life: a brief costs its rendering, not a fresh start of WeasyPrint.
    app = _app(args, renderer=WarmRenderer())
    config = app.config
    planned = jobs.plan_jobs(config)
    now = args.as_of or _now()
    if args.list:
        for line in jobs.describe(planned, now, count=3):
            print(line)
        return 0
    if not planned:
        raise UsageError("schedule.toml has no [[jobs]]: nothing to run")
    _target(app, args, "schedule", unattended=True, writes=False)  # refused here, before anything runs
    scheduler.log_to_file(config)
    runner = scheduler.Runner(app, make_target=lambda: _target(app, args, "schedule", unattended=True))
    if args.run is not None:
        # The operator's retry of a job that failed, without waiting for its next fire time: run and
        # recorded under the job's name, with its alert, exactly as the service runs it.
        job = next((item.job for item in planned if item.job.name == args.run), None)
        if job is None:
            names = ", ".join(item.job.name for item in planned)
            raise UsageError(f"no job named {args.run!r} in schedule.toml; its jobs: {names}")
        try:
            return 0 if runner.run_job(job) else 1
        finally:
            if app.renderer is not None:
                app.renderer.close()
    if app.renderer is not None:
        app.renderer.start()  # it warms up while the scheduler waits for the first job
    try:
        scheduler.serve(config, runner, now=now)
    finally:
        if app.renderer is not None:
            app.renderer.close()
    return 0


def _status(args: argparse.Namespace) -> int:
    healthy, verdict, lines = _app(args).status(_now())
    if not args.check:
        for line in lines:
            print(line)
    print(verdict)
    return 0 if healthy or not args.check else 1


def _check(args: argparse.Namespace) -> int:
    app = _app(args)
    findings = app.check(lambda: _target(app, args, "check", writes=False))
    for line in findings.lines:
        print(line)
    return 0 if findings.ok else 1


def _form(args: argparse.Namespace) -> int:
    import json

    from otop_sync.app import App
    from otop_sync.form_questions import as_markdown, expected_form
    from otop_sync.periods import fiscal_year_of
    from otop_sync.quarter_life import offered_months
    from otop_sync.settings import config_dir, load_config

    config = load_config(config_dir(args.config))
    now = _now()
    months = offered_months(now, config.deadlines, fiscal_year=args.fiscal_year)
    spec = expected_form(config, fiscal_year=args.fiscal_year or fiscal_year_of(now), months=months)
    if args.apply is not None:
        app = App(config, clock=_now)
        return _apply_form(app, spec, args.apply or config.google.form_id, dry_run=args.dry_run)
    if args.json:
        print(json.dumps(spec.as_json(), ensure_ascii=False, indent=2))
    else:
        print(as_markdown(spec), end="")
    return 0


def _apply_form(app: App, spec: FormSpec, form_id: str | None, *, dry_run: bool) -> int:
    from otop_sync.errors import FormChanged
    from otop_sync.google_forms import plan

    if not form_id:
        raise UsageError("no form to apply to: pass --apply FORM_ID or set [google] form_id in province.toml")
    client = app.forms(form_id, edit=not dry_run)
    form = client.get()
    changes = plan(form, spec)
    verb = "would" if dry_run else "will"
    title = (form.get("info") or {}).get("title", form_id)
    print(f"form {title!r} ({form_id}): {len(changes.requests)} change(s)")
    for change in changes.changes:
        print(f"  {verb} {change}")
    if changes.requests and not dry_run:
        try:
            client.batch_update(changes.requests, revision_id=str(form.get("revisionId", "")))
            print(f"form updated ({client.api_calls} API calls)")
        except FormChanged:
            # Perhaps an earlier try went through and only its answer was lost: the form tells.
            if plan(client.get(), spec).requests:
                raise
            print(
                "form updated: applied (Google's answer was lost; confirmed by reading the form; "
                f"{client.api_calls} API calls)"
            )
    for difference in changes.differences:
        print(f"  not changed: {difference}")
    for step in changes.manual:
        print(f"  by hand: {step}")
    return 0


def _init(args: argparse.Namespace) -> int:
    from otop_sync.errors import ConfigError
    from otop_sync.periods import fiscal_year_of
    from otop_sync.province_setup import WORKBOOK, blank_tabs, province_toml, write_folder
    from otop_sync.settings import load_config, shipped_dir
    from otop_sync.sources.workbook import write_new_workbook

    folder: Path = args.folder
    if not args.workbook_only:
        shipped = shipped_dir("config")
        text = province_toml(
            (shipped / "province.toml").read_text(encoding="utf-8"),
            code=args.code,
            name=args.name,
            districts=args.district,
        )
        write_folder(folder, shipped, text)
        print(f"wrote {folder}: the configuration of {args.name or 'a new province'}")
    try:
        config = load_config(folder)
    except ConfigError as exc:
        print(
            f"fill in the blanks marked “ใส่…” in {folder / 'province.toml'} (first: {exc.key}), then "
            f"`otop-sync init {folder} --workbook-only` writes the workbook"
        )
        return 0
    workbook = folder / WORKBOOK
    if workbook.exists():
        raise UsageError(f"{workbook} exists: init never overwrites a workbook")
    base_year = args.base_year or fiscal_year_of(_now()) - 1
    write_new_workbook(workbook, blank_tabs(config, base_fiscal_year=base_year))
    count = len(config.province.districts)
    print(
        f"wrote {workbook}: the base-year tab lists {count} districts × 12 months of {base_year} to fill in"
    )
    print(
        "next: paste the base year's sales into the tab "
        f"“{config.form.tabs.base_year}”; then `otop-sync check --config {folder}` and "
        f"`otop-sync run --config {folder}` (docs/operator-guide.md, “Set up your province”)"
    )
    return 0


def _demo(args: argparse.Namespace) -> int:
    from otop_sync.app import DEMO_WORKBOOK
    from otop_sync.demo import DEMO_AS_OF, demo_tabs
    from otop_sync.sources.workbook import write_new_workbook

    path: Path = args.path or args.output or DEMO_WORKBOOK
    if args.config:
        from otop_sync.demo import DEMO_PROVINCE
        from otop_sync.settings import config_dir, load_config

        province = load_config(config_dir(args.config)).province
        if province.code != DEMO_PROVINCE:
            raise UsageError(
                f"the demo is Nong Khai's, not {province.name}'s: `otop-sync init DIR` writes a blank "
                f"workbook for {province.name}'s districts"
            )
    if path.exists() and not args.force:
        raise UsageError(f"{path} exists; pass --force to overwrite it")
    write_new_workbook(path, demo_tabs())
    print(f"wrote {path}: try `otop-sync run --workbook {path} --as-of {DEMO_AS_OF.isoformat()}`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
