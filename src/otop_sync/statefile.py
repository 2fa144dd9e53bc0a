"""A state file read back: its data when it has the shape otop_sync writes, else set aside and started anew.

The service keeps small JSON files in its state folder (the record of runs, the messages sent). A file of
another shape (edited by hand, restored from another version, written by a disk that failed) must not stop
the service: systemd would restart it in a loop. It is renamed, not deleted, so that a person can look at
it, and one warning says where it went.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
# What otop_sync writes there stays under a few kilobytes (the record of runs: three records a job; what was
# sent: 92 days); a larger file was not written by it, and is never read whole into memory.
SIZE_LIMIT = 1_000_000
log = logging.getLogger("otop_sync")


class WrongShape(ValueError):
    """The file is JSON, but not of the shape otop_sync writes; the message says what is wrong."""


def read_state(path: Path, parse: Callable[[Any], T], *, empty: T) -> T:
    """`parse` of the file's JSON; `empty` when there is no file, or when it cannot be read or parsed
    (then it is set aside). `parse` raises WrongShape (or KeyError, TypeError, ValueError) for a wrong
    shape."""
    try:
        if path.stat().st_size > SIZE_LIMIT:
            return _set_aside(path, f"larger than {SIZE_LIMIT:,} bytes", empty)
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return empty
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        if isinstance(exc, UnicodeDecodeError):
            return _set_aside(path, f"it is not UTF-8 text ({reason})", empty)
        log.warning("cannot read %s (%s); going on as if it were empty", path, reason)
        return empty
    try:
        return parse(json.loads(text))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        return _set_aside(path, str(exc) or type(exc).__name__, empty)


def _set_aside(path: Path, reason: str, empty: T) -> T:
    try:
        stamp = datetime.fromtimestamp(path.stat().st_mtime, UTC).strftime("%Y%m%dT%H%M%SZ")
        aside = path.with_name(f"{path.name}.unreadable-{stamp}")
        os.replace(path, aside)
    except OSError as exc:
        log.warning("%s is not a file otop_sync wrote (%s), and cannot be set aside: %s", path, reason, exc)
        return empty
    log.warning(
        "%s is not a file otop_sync wrote (%s): kept as %s, and a new one started", path, reason, aside.name
    )
    return empty


def aware(text: Any) -> datetime:
    """A moment as otop_sync writes it: ISO 8601 with its offset."""
    if not isinstance(text, str):
        raise WrongShape(f"{text!r} is not a date and time")
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise WrongShape(f"{text!r} has no offset from UTC")
    return moment
