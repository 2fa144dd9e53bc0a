"""The PDF renderer never outlives its run: it dies with its parent, keeps its own time limit, and the
folder a killed run leaves is removed by the next; a renderer stopped by a signal says which brief."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from otop_sync.brief_files import write_brief
from otop_sync.brief_pdf import TEMPORARY_PREFIX, WarmRenderer, check_renderer, render_pdf, sample_page
from otop_sync.brief_renderer import font_folder
from otop_sync.demo import DEMO_AS_OF, demo_tabs
from otop_sync.errors import BriefError, RendererStopped
from otop_sync.settings import shipped_dir
from otop_sync.sources.memory import MemorySource

from .conftest import CONFIG, run

SLOW_PAGE = "<html><body><table>" + "<tr><td>แถว</td><td>ข้อมูล</td></tr>" * 30_000 + "</table></body></html>"


def renderers_of(parent: int) -> list[int]:
    """The renderer processes whose parent is `parent`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
            status = (entry / "status").read_text()
        except OSError:
            continue
        ppid = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("PPid:"))
        if b"otop_sync.brief_renderer" in command and ppid == parent:
            found.append(int(entry.name))
    return found


def wait_for(condition: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG is Linux's")
def test_a_parent_killed_mid_render_leaves_no_renderer_and_its_folder_goes_with_the_next_render() -> None:
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import sys
                from pathlib import Path
                from otop_sync.brief_pdf import render_pdf
                render_pdf(sys.stdin.read(), allowed=[Path({str(font_folder())!r})], timeout_seconds=120)
                """
            ),
        ],
        stdin=subprocess.PIPE,
        text=True,
    )
    assert parent.stdin is not None
    parent.stdin.write(SLOW_PAGE)
    parent.stdin.close()
    assert wait_for(lambda: renderers_of(parent.pid), 20)
    (renderer,) = renderers_of(parent.pid)
    # Killed once the renderer has its whole page (its input closed) and is rendering: earlier, the
    # renderer would end on a cut-off page by itself, and prove nothing.
    assert wait_for(lambda: not Path(f"/proc/{renderer}/fd/0").exists(), 20)
    left = list(Path(tempfile.gettempdir()).glob(f"{TEMPORARY_PREFIX}{parent.pid}-*"))
    assert left
    parent.kill()
    parent.wait()
    assert wait_for(lambda: not Path(f"/proc/{renderer}").exists() or "Z" in _state(renderer), 2)
    check_renderer(timeout_seconds=60)  # the next render
    assert not [folder for folder in left if folder.exists()]


def _state(pid: int) -> str:
    try:
        return next(
            line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("State:")
        )
    except OSError:
        return "gone"


def test_a_renderer_stopped_by_a_signal_says_the_brief_was_not_rendered(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "brief.html.j2").write_text(SLOW_PAGE, encoding="utf-8")
    outcome = run(MemorySource({t.title: t.rows for t in demo_tabs()}), DEMO_AS_OF)
    failure: list[BaseException] = []

    def write() -> None:
        try:
            write_brief(
                outcome, CONFIG, output=tmp_path / "briefs", folders=[templates, shipped_dir("templates")]
            )
        except BaseException as exc:  # handed to the test below
            failure.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    assert wait_for(lambda: renderers_of(os.getpid()), 20)
    for renderer in renderers_of(os.getpid()):
        os.kill(renderer, signal.SIGTERM)  # as systemd's default stop does to every process of a service
    writer.join(30)
    (error,) = failure
    assert isinstance(error, RendererStopped)
    assert (
        str(error)
        == "stopped: the brief of ไตรมาส 4/2567 was not rendered (the renderer was stopped by SIGTERM)"
    )
    assert not (tmp_path / "briefs").exists()


def test_the_renderer_keeps_its_own_time_limit(tmp_path: Path) -> None:
    # Started as render_pdf starts it, with a 1-second limit and nobody to enforce it but itself.
    command = [
        sys.executable,
        "-m",
        "otop_sync.brief_renderer",
        str(os.getpid()),
        "1",
        str(tmp_path / "out.pdf"),
    ]
    started = time.monotonic()
    done = subprocess.run(
        [*command, str(font_folder())], input=SLOW_PAGE.encode(), capture_output=True, timeout=60
    )
    assert done.returncode == -signal.SIGALRM
    assert time.monotonic() - started < 15  # the limit, plus the second it allows, plus starting up
    assert not (tmp_path / "out.pdf").exists()


@pytest.fixture
def warm() -> Iterator[WarmRenderer]:
    renderer = WarmRenderer()
    yield renderer
    renderer.close()


def test_a_warm_renderer_serves_brief_after_brief_from_one_process(warm: WarmRenderer) -> None:
    first = render_pdf(sample_page(), allowed=[font_folder()], timeout_seconds=60, renderer=warm)
    pid = warm.pid
    started = time.monotonic()
    second = render_pdf(sample_page(), allowed=[font_folder()], timeout_seconds=60, renderer=warm)
    assert warm.pid == pid
    assert first[0].startswith(b"%PDF")
    assert second[0].startswith(b"%PDF")
    assert (first[1], second[1]) == (1, 1)
    assert time.monotonic() - started < 5


def test_a_warm_renderer_that_times_out_or_dies_is_replaced(warm: WarmRenderer) -> None:
    with pytest.raises(BriefError, match=r"took longer than 1 s \(\[brief\] timeout_seconds\)"):
        warm.render(SLOW_PAGE, allowed=[font_folder()], timeout_seconds=1)
    assert warm.pid is None
    warm.render(sample_page(), allowed=[font_folder()], timeout_seconds=60)
    crashed = warm.pid
    assert crashed is not None
    os.kill(crashed, signal.SIGKILL)
    time.sleep(0.2)
    _, pages = warm.render(sample_page(), allowed=[font_folder()], timeout_seconds=60)  # a new one, started
    assert pages == 1
    assert warm.pid not in (None, crashed)


def test_a_page_the_warm_renderer_refuses_is_one_line_and_it_goes_on(warm: WarmRenderer) -> None:
    with pytest.raises(BriefError, match="instead of Sarabun: the Thai font did not load"):
        warm.render("<p>no font declared</p>", allowed=[font_folder()], timeout_seconds=60)
    pid = warm.pid
    assert warm.render(sample_page(), allowed=[font_folder()], timeout_seconds=60)[1] == 1
    assert warm.pid == pid


def test_a_warm_renderer_is_replaced_after_its_share_of_briefs_and_the_next_one_is_warm() -> None:
    # WeasyPrint's process only grows (76 MB after one demo brief, 144 MB after 250): a service that
    # runs for years replaces it after RENDERS_PER_PROCESS briefs, here two.
    renderer = WarmRenderer(renders_per_process=2)
    try:
        renderer.render(sample_page(), allowed=[font_folder()], timeout_seconds=60)
        first = renderer.pid
        renderer.render(sample_page(), allowed=[font_folder()], timeout_seconds=60)
        second = renderer.pid
        assert second not in (None, first)  # replaced, and the new one already started
        pdf, pages = renderer.render(sample_page(), allowed=[font_folder()], timeout_seconds=60)
        assert (pdf[:4], pages) == (b"%PDF", 1)
        assert renderer.pid == second
    finally:
        renderer.close()
    assert first is not None
    with pytest.raises(ProcessLookupError):
        os.kill(first, 0)  # the old one is gone, not left behind
