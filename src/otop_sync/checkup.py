"""`otop-sync check`: read the spreadsheet once and say, in plain words, what is missing and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass

from otop_sync.config import BASE_FIELDS, REQUIRED_FIELDS, Form
from otop_sync.responses import find_columns
from otop_sync.sources.contract import Source


@dataclass(frozen=True)
class Findings:
    lines: tuple[str, ...]
    ok: bool


def check_source(source: Source, form: Form) -> Findings:
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
