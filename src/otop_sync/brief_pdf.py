"""The brief's PDF: the renderer process, supervised. The child (``brief_renderer.py``) runs WeasyPrint
with a time limit and fetches resources only from otop_sync's own fonts and templates or ``data:`` URLs,
so nothing a district typed can make it read a file or reach the network. A one-off render starts a
child; a service keeps one warm (WarmRenderer).
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

from otop_sync.brief import font_faces
from otop_sync.brief_renderer import FONT_FAMILY, font_folder
from otop_sync.errors import BriefError, RendererStopped


def renderer_environment() -> dict[str, str]:
    """The renderer's environment: ours, with a font configuration that knows no system font (fonts.conf)."""
    return {**os.environ, "FONTCONFIG_FILE": str(Path(__file__).with_name("fonts.conf"))}


TEMPORARY_PREFIX = "otop-sync-brief-"


def render_pdf(
    html: str, *, allowed: Iterable[Path], timeout_seconds: float = 60, renderer: WarmRenderer | None = None
) -> tuple[bytes, int]:
    """The PDF and its page count, rendered by a child process that is killed at the time limit.

    A child process rather than a thread or a fork: a thread cannot be stopped, and forking the
    scheduler's threaded process can copy a lock that another thread holds. The child dies with its
    parent and keeps the time limit itself, so a parent killed mid-render leaves no renderer behind; the
    folder such a parent leaves is removed by the next render. A `renderer` kept warm by a long-running
    service renders instead of a fresh child, under the same limits."""
    if renderer is not None:
        return renderer.render(html, allowed=allowed, timeout_seconds=timeout_seconds)
    remove_abandoned_folders()
    folder = Path(tempfile.mkdtemp(prefix=f"{TEMPORARY_PREFIX}{os.getpid()}-"))
    try:
        target = folder / "brief.pdf"
        command = [
            sys.executable,
            "-m",
            "otop_sync.brief_renderer",
            str(os.getpid()),
            f"{timeout_seconds:g}",
            str(target),
        ]
        command.extend(str(p) for p in allowed)
        try:
            done = subprocess.run(
                command,
                input=html.encode(),
                capture_output=True,
                timeout=timeout_seconds,
                check=False,
                env=renderer_environment(),
            )
        except subprocess.TimeoutExpired:
            raise BriefError(
                f"rendering the PDF took longer than {timeout_seconds:g} s ([brief] timeout_seconds)"
            ) from None
        if done.returncode < 0:
            raise RendererStopped(f"the renderer was stopped by {signal.Signals(-done.returncode).name}")
        if done.returncode != 0:
            lines = done.stderr.decode(errors="replace").strip().splitlines() or ["no message"]
            raise BriefError(lines[-1].removeprefix("otop-sync: error: "))
        return target.read_bytes(), int(done.stdout.decode().strip() or 0)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# WeasyPrint's process grows by about a quarter of a megabyte a brief and never gives it back (measured:
# 76 MB after the first demo brief, 144 MB after 250), and a service runs for years: a renderer is
# replaced after this many briefs, which kept it under 100 MB, for a second's start every fifty briefs.
RENDERS_PER_PROCESS = 50


class WarmRenderer:
    """One renderer process kept for a long-running service (the scheduler), so that a brief costs its
    rendering and not a fresh start of WeasyPrint, about a second. It keeps the guarantees of a one-off
    render: it dies with its parent and each page has its time limit; after a time-out or a crash it is
    replaced, for the next brief, and so it is after `renders_per_process` briefs, lest it grow."""

    def __init__(self, renders_per_process: int = RENDERS_PER_PROCESS) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._renders_per_process = renders_per_process
        self._renders = 0  # answered by the current process

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> None:
        """Start the renderer now (it warms up while the service does other things), if it is not up."""
        if self._process is not None and self._process.poll() is not None:
            self._discard()  # it died between briefs
        if self._process is None:
            self._renders = 0
            command = [sys.executable, "-m", "otop_sync.brief_renderer", "serve", str(os.getpid())]
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                bufsize=0,
                env=renderer_environment(),
            )

    def close(self) -> None:
        self._discard()

    def _discard(self) -> int | None:
        """Stop the renderer, reap it and close its pipes; its exit status, if it had one."""
        process, self._process = self._process, None
        if process is None:
            return None
        if process.poll() is None:
            process.kill()
        code = process.wait()
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):  # a pipe to a dead renderer may refuse to flush
                    pipe.close()
        return code

    def render(self, html: str, *, allowed: Iterable[Path], timeout_seconds: float) -> tuple[bytes, int]:
        self.start()
        process = self._process
        assert process is not None
        assert process.stdin is not None
        assert process.stdout is not None
        remove_abandoned_folders()
        folder = Path(tempfile.mkdtemp(prefix=f"{TEMPORARY_PREFIX}{os.getpid()}-"))
        try:
            target, page = folder / "brief.pdf", html.encode()
            request = {"target": str(target), "roots": [str(p) for p in allowed], "bytes": len(page)}
            try:
                process.stdin.write(
                    json.dumps({**request, "seconds": timeout_seconds}).encode() + b"\n" + page
                )
            except OSError:
                self._discard()
                raise BriefError("the renderer had stopped; a new one renders the next brief") from None
            answer = _read_line(process.stdout.fileno(), time.monotonic() + timeout_seconds)
            if answer is None:
                self._discard()
                raise BriefError(
                    f"rendering the PDF took longer than {timeout_seconds:g} s ([brief] timeout_seconds)"
                )
            if not answer:
                code = self._discard() or 0
                if code < 0:
                    raise RendererStopped(f"the renderer was stopped by {signal.Signals(-code).name}")
                raise BriefError(f"the renderer ended with status {code}")
            result = json.loads(answer)
            if "error" in result:
                raise BriefError(str(result["error"]))
            return target.read_bytes(), int(result["pages"])
        finally:
            shutil.rmtree(folder, ignore_errors=True)
            self._count_one()

    def _count_one(self) -> None:
        """After a render, replace a renderer that has served its share: the next one warms up now."""
        if self._process is None:
            return  # already discarded, after a time-out or a crash
        self._renders += 1
        if self._renders >= self._renders_per_process:
            self._discard()
            with contextlib.suppress(OSError):  # if it cannot start now, the next brief tries and says why
                self.start()


def _read_line(descriptor: int, deadline: float) -> bytes | None:
    """One line from the renderer: None when the deadline passes first, b"" when it has gone."""
    buffer = b""
    with selectors.DefaultSelector() as selector:
        selector.register(descriptor, selectors.EVENT_READ)
        while b"\n" not in buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(left):
                return None
            chunk = os.read(descriptor, 65536)
            if not chunk:
                return b""
            buffer += chunk
    return buffer


def remove_abandoned_folders() -> None:
    """Remove the temporary folders of renders whose process is gone (killed before it could clean)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{TEMPORARY_PREFIX}*-*"):
        pid = folder.name.removeprefix(TEMPORARY_PREFIX).split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def sample_page() -> str:
    """One line of Thai set as the brief sets it (the Sarabun files declared): what `check` renders."""
    faces = "".join(
        f'@font-face {{ font-family: "{FONT_FAMILY}"; src: url("{face["url"]}"); '
        f"font-weight: {face['weight']}; font-style: {face['style']}; }}"
        for face in font_faces()
    )
    style = f'{faces} body {{ font-family: "{FONT_FAMILY}"; }}'
    return f'<html lang="th"><style>{style}</style><p>น้ำ ที่ หนึ่ง</p></html>'


def check_renderer(*, timeout_seconds: float) -> int:
    """Render the sample page as a brief is rendered (the child process, Pango, the Sarabun files, the
    check that no other font slipped in): its page count, or BriefError saying what to install."""
    _, pages = render_pdf(sample_page(), allowed=[font_folder()], timeout_seconds=timeout_seconds)
    return pages
