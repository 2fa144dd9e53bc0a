"""Write a file so that a reader sees its old content or its new content, never half of either.

A temporary file in the same folder (so the rename stays on one file system), then ``os.replace``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_target(path: Path, *, mode: int | None = None) -> Iterator[Path]:
    """A temporary path beside `path`; when the block succeeds it replaces `path`, otherwise it is removed.

    The new file keeps the old one's permissions, or takes `mode` when there is no old one. A symbolic
    link is followed: the file it names is replaced, and the link stays a link to it.
    """
    path = path.resolve()  # else the rename would put the new file in place of the link, not its file
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(descriptor)
    try:
        yield Path(temporary)
        keep = path.stat().st_mode & 0o777 if path.exists() else mode
        if keep is not None:
            os.chmod(temporary, keep)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def write_atomically(path: Path, content: bytes, *, mode: int = 0o644) -> None:
    with atomic_target(path, mode=mode) as temporary:
        temporary.write_bytes(content)
