"""`otop-sync check`: everything a run will need, checked once, each problem one line with its fix.

The spreadsheet (access, tabs, question titles), the schedule's cron lines, the LINE token and the bot's
place in the group, the PDF renderer and its font, and the folders a run writes to.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from otop_sync.config import BASE_FIELDS, REQUIRED_FIELDS, Config, SheetLayout
from otop_sync.errors import OtopSyncError
from otop_sync.responses import find_columns
from otop_sync.sources.contract import Source

if TYPE_CHECKING:
    from otop_sync.drive import DriveClient
    from otop_sync.line import LineClient


@dataclass(frozen=True)
class Findings:
    lines: tuple[str, ...]
    ok: bool

    def __add__(self, other: Findings) -> Findings:
        return Findings(self.lines + other.lines, self.ok and other.ok)


def _one(line: str, *, ok: bool = True) -> Findings:
    return Findings((line,), ok)


def check_source(source: Source, form: SheetLayout) -> Findings:
    """Access and tabs are checked by reading (a failure raises with the fix); then the question titles."""
    data = source.read(form)
    responses = ", ".join(repr(tab.title) for tab in data.responses)
    lines = [f"spreadsheet: readable; responses in tab {responses}, base year in {data.base_year.title!r}"]
    ok = True
    for tab, titles, required, section in (
        *((tab, form.columns, REQUIRED_FIELDS, "columns") for tab in data.responses),
        (data.base_year, form.base_year_columns, BASE_FIELDS, "base_year_columns"),
    ):
        found = find_columns(tab, titles)
        for field, candidates in titles.items():
            if field in found:
                lines.append(f"  {tab.title!r}: column {found[field][1]!r}: ok")
            elif field in required:
                ok = False
                lines.append(
                    f"  {tab.title!r}: no column {candidates[0]!r}: rename the question (row 1) or "
                    f"add its title to form.toml [{section}] {field}"
                )
            else:
                lines.append(f"  {tab.title!r}: no column {candidates[0]!r} (optional: left empty)")
    rows = sum(max(len(tab.rows) - 1, 0) for tab in data.responses)
    lines.append(f"responses: {rows} row(s) under the header")
    lines.append("owned tabs: " + ", ".join(form.tabs.owned) + " (created or replaced by `otop-sync run`)")
    return Findings(tuple(lines), ok)


def check_schedule(config: Config) -> Findings:
    from otop_sync.jobs import plan_jobs

    try:
        planned = plan_jobs(config)
    except OtopSyncError as exc:
        return _one(f"schedule: {exc}", ok=False)
    return _one(f"schedule: {len(planned)} job(s) in {config.timezone}: ok")


def check_line(config: Config, client: Callable[[], LineClient | None]) -> Findings:
    line = config.line
    if not line.token and not line.group_id:
        return _one("LINE: not configured: reminders and announcements are printed, not sent")
    if not line.token:
        return _one(
            "LINE: [line] group_id is set but LINE_CHANNEL_ACCESS_TOKEN is not: set it in the service's "
            "environment",
            ok=False,
        )
    if not line.group_id:
        return _one("LINE: LINE_CHANNEL_ACCESS_TOKEN is set but [line] group_id is not", ok=False)
    line_client = client()
    assert line_client is not None
    try:
        return _one(f"LINE: {line_client.describe()}: ok")
    except OtopSyncError as exc:
        return _one(f"LINE: {exc}", ok=False)


def check_drive(config: Config, client: Callable[[], DriveClient]) -> Findings:
    """The file or folder the brief is published to ([drive]): reachable and writable, or what to do."""
    if not config.drive.configured:
        return _one("Drive: not configured: the brief is written to the briefs folder only")
    try:
        return Findings(tuple(f"Drive: {line}" for line in client().check()), True)
    except OtopSyncError as exc:
        return _one(f"Drive: {exc}", ok=False)


def check_renderer(config: Config) -> Findings:
    from otop_sync.brief_pdf import check_renderer as render_a_page

    try:
        render_a_page(timeout_seconds=config.brief.timeout_seconds)
    except OtopSyncError as exc:
        return _one(f"brief: the PDF renderer failed: {exc}", ok=False)
    return _one("brief: the PDF renderer and the Sarabun font: ok")


def check_folders(folders: Iterable[tuple[str, str, Path]]) -> Findings:
    """Each (setting, what it holds, folder): writable, or creatable in the nearest folder that exists.
    Asked of the system, not tried: a check writes nothing."""
    findings = Findings((), True)
    for setting, what, folder in folders:
        existing = next((f for f in (folder, *folder.parents) if f.exists()), Path("/"))
        if existing.is_dir() and os.access(existing, os.W_OK | os.X_OK):
            findings += _one(f"folders: {what} {folder}: writable")
        else:
            findings += _one(
                f"folders: {what} {folder} cannot be written ({existing} is not a folder this user can "
                f"write): set {setting} to one it can",
                ok=False,
            )
    return findings
