"""One run at a time on a spreadsheet: a lock shared by the scheduler and the command line.

``fcntl.flock`` on a file beside the workbook, or in the state folder for a Google Sheet (``app.py``):
the kernel releases it when the holder exits or is killed, so a lock left by a dead process is simply
free. The file says who holds it and since when.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise OtopSyncError(
            f"cannot create the run lock {path} ({exc.strerror or exc}): set [service] state_dir to a "
            "folder otop_sync can write"
        ) from exc
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise BusyError(
                        f"another run holds the lock ({_holder(path)}); waited {wait_seconds:g} s"
                    ) from None
                time.sleep(poll_seconds)
        os.ftruncate(descriptor, 0)
        os.pwrite(
            descriptor, json.dumps({"pid": os.getpid(), "since": now().isoformat(), "who": who}).encode(), 0
        )
        try:
            yield
        finally:
            os.ftruncate(descriptor, 0)
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        info = {}
    if not info or not isinstance(info, dict):
        return "holder unknown"
    return f"pid {info.get('pid')}, {info.get('who', 'a run')}, since {info.get('since')}"
