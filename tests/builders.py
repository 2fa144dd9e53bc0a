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
