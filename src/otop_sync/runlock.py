"""One run at a time on a spreadsheet: a lock shared by the scheduler and the command line.

``fcntl.flock`` on a file beside the workbook, or in the state folder for a Google Sheet (``app.py``):
the kernel releases it when the holder exits or is killed, so a lock left by a dead process is simply
free. The file says who holds it and since when, and is removed when the run ends.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path

from otop_sync.errors import BusyError, OtopSyncError


@contextmanager
def run_lock(
    path: Path,
    *,
    wait_seconds: float,
    who: str,
    now: Callable[[], datetime],
    poll_seconds: float = 0.2,
) -> Iterator[None]:
    """Hold the lock at `path` for the block, waiting at most `wait_seconds` for another holder.

    The file is removed when the block ends, so that nothing is left beside a workbook. Removing a
    lock file is safe only with the check below: a waiter that opened the file before it was removed
    would otherwise take a lock nobody else can see, so the one who takes it checks that the file it
    locked is still the one at `path`, and starts again if not.
    """
    deadline = time.monotonic() + wait_seconds
    while True:
        descriptor = _open(path)
        try:
            _take(descriptor, path, deadline, wait_seconds, poll_seconds)
            if not _still_at(path, descriptor):
                continue  # removed by the holder we waited for: lock the one at `path` now
            os.ftruncate(descriptor, 0)
            os.pwrite(
                descriptor,
                json.dumps({"pid": os.getpid(), "since": now().isoformat(), "who": who}).encode(),
                0,
            )
            try:
                yield
            finally:
                with suppress(FileNotFoundError):
                    path.unlink()
                fcntl.flock(descriptor, fcntl.LOCK_UN)
            return
        finally:
            os.close(descriptor)


def _open(path: Path) -> int:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise OtopSyncError(
            f"cannot create the run lock {path} ({exc.strerror or exc}): set [service] state_dir to a "
            "folder otop_sync can write"
        ) from exc


def _take(descriptor: int, path: Path, deadline: float, wait_seconds: float, poll_seconds: float) -> None:
    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise BusyError(
                    f"another run holds the lock ({_holder(path)}); waited {wait_seconds:g} s"
                ) from None
            time.sleep(poll_seconds)


def _still_at(path: Path, descriptor: int) -> bool:
    """Whether the file locked through `descriptor` is the one named `path` (not removed, not replaced)."""
    try:
        named = path.stat()
    except FileNotFoundError:
        return False
    held = os.fstat(descriptor)
    return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        info = {}
    if not info or not isinstance(info, dict):
        return "holder unknown"
    return f"pid {info.get('pid')}, {info.get('who', 'a run')}, since {info.get('since')}"
