"""Builders for tests: an app whose state is a temporary folder, a target over a memory source, and
edits to a copy of the configuration."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from otop_sync.app import App, Channel, Target
from otop_sync.config import Config
from otop_sync.sources.contract import Source


def app_in(
    folder: Path, config: Config, *, clock: Callable[[], datetime], channel: Channel | None = None
) -> App:
    """An app keeping its state (run record, locks, what was sent) in `folder`."""
    config = replace(config, service=replace(config.service, state_dir=folder))
    return App(config, clock=clock, channel=(lambda: channel) if channel is not None else None)


def edit(folder: Path, name: str, old: str, new: str) -> None:
    """Change `old` to `new` in a file of a configuration folder (it must be there, once)."""
    path = folder / name
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def target_of(source: Source, folder: Path) -> Target:
    return Target(source, folder / "memory.lock", "a spreadsheet in memory")


def with_part(source: Path, target: Path, name: str, content: bytes | Callable[[bytes], bytes]) -> None:
    """A copy of the package `source` in which part `name` holds `content` (or what it makes of the old)."""
    import zipfile

    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            data = old.read(info)
            if info.filename == name:
                data = content(data) if callable(content) else content
            new.writestr(info.filename, data)


def sheet_part(path: Path, title: str) -> str:
    """The package part that holds the tab `title`."""
    from otop_sync.sources.xlsx_reader import open_workbook

    with open_workbook(path) as book:
        return book.parts[title]
