"""The PDF renderer's process: the child that WeasyPrint runs in, and its entry point.

`python -m otop_sync.brief_renderer PARENT SECONDS OUT.pdf ROOT...` renders the page on standard input
once; `… serve PARENT` renders page after page for a service that keeps it warm (brief_pdf.WarmRenderer). It
imports only what it renders with (WeasyPrint, the fonts it serves), not otop_sync's grading, Jinja2 or
segno: it starts sooner and holds less. It dies with its parent, and within its time limit even when
nobody is left to enforce it. Resources come only from otop_sync's own folders or ``data:`` URLs.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import fontpkg_sarabun

FONT_FAMILY = "Sarabun"


class Refused(Exception):
    """The page would not be set as the brief must be (another font slipped in)."""


def font_folder() -> Path:
    return Path(fontpkg_sarabun.ROOT) / "files"


def _die_with_parent(parent: int) -> None:
    """In the renderer: end when the parent ends (Linux's PR_SET_PDEATHSIG)."""
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # 1: PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before the line above: nobody is waiting
        os._exit(3)


def _time_limit(seconds: float) -> None:
    """End at the time limit (and a second) even if nobody is left to enforce it: SIGALRM's default
    action ends the process. 0 switches it off."""
    signal.setitimer(signal.ITIMER_REAL, seconds + 1 if seconds else 0)


def _serve_main(parent: int) -> int:
    """`… serve PARENT`: render page after page (a JSON request line, then the page's bytes), answering a
    JSON line each: {"pages": n} or {"error": "…"}."""
    _die_with_parent(parent)
    import weasyprint  # noqa: F401  # warm: imported before the first page arrives

    requests, answers = sys.stdin.buffer, sys.stdout.buffer
    while line := requests.readline():
        request = json.loads(line)
        html = requests.read(request["bytes"]).decode()
        _time_limit(float(request["seconds"]))
        try:
            pdf, pages = _render(html, [Path(r) for r in request["roots"]])
            Path(request["target"]).write_bytes(pdf)
            answer: dict[str, object] = {"pages": pages}
        except Refused as exc:
            answer = {"error": str(exc)}
        except Exception as exc:  # reported to the parent, and the renderer goes on
            answer = {"error": f"rendering the PDF failed: {type(exc).__name__}: {exc}"}
        _time_limit(0)
        answers.write(json.dumps(answer, ensure_ascii=False).encode() + b"\n")
        answers.flush()
    return 0


def _render_main(argv: Sequence[str]) -> int:
    """`PARENT SECONDS OUT.pdf ROOT...`: render the HTML on standard input once."""
    if argv[0] == "serve":
        return _serve_main(int(argv[1]))
    parent, seconds, target, *roots = argv
    _die_with_parent(int(parent))
    _time_limit(float(seconds))
    html = sys.stdin.buffer.read().decode()
    os.close(0)  # the whole page is read: the pipe is freed (and a test can tell rendering has begun)
    try:
        pdf, pages = _render(html, [Path(r) for r in roots])
    except Refused as exc:
        print(f"otop-sync: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # reported to the parent in one line
        print(f"otop-sync: error: rendering the PDF failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    Path(target).write_bytes(pdf)
    print(pages)
    return 0


def _render(html: str, allowed: list[Path]) -> tuple[bytes, int]:
    import weasyprint

    document = weasyprint.HTML(
        string=html, base_url=allowed[0].as_uri() + "/", url_fetcher=_fetcher(allowed)
    ).render()
    pdf = document.write_pdf(pdf_variant=None)
    families = {font.family for font in document.fonts.values()}
    if families != {FONT_FAMILY}:
        # Pango would otherwise quietly set Thai in another font, and the pages would reflow.
        raise Refused(
            f"the PDF would use {', '.join(sorted(families - {FONT_FAMILY})) or 'no font'} "
            f"instead of {FONT_FAMILY}: the Thai font did not load"
        )
    return pdf, len(document.pages)


def _fetcher(allowed: list[Path]) -> Any:
    import weasyprint

    from otop_sync.copyable_font import copyable

    roots = [p.resolve() for p in allowed]
    fonts = font_folder().resolve()

    class OwnFilesOnly(weasyprint.URLFetcher):  # type: ignore[misc]
        """Fonts and assets shipped with otop_sync, and data: URLs; never a path or host from the data."""

        def fetch(self, url: str, headers: Any = None) -> Any:
            scheme = urlsplit(url).scheme.lower()
            if scheme == "data":
                return super().fetch(url, headers)
            if scheme == "file":
                path = Path(unquote(urlsplit(url).path)).resolve()
                if any(path.is_relative_to(root) for root in roots) and path.is_file():
                    if path.parent == fonts and path.suffix == ".ttf":
                        # So that Thai copied out of the PDF is the Thai on the page (copyable_font).
                        return weasyprint.urls.URLFetcherResponse(path.as_uri(), copyable(path))
                    return weasyprint.urls.URLFetcherResponse(path.as_uri(), path.read_bytes())
            raise ValueError(f"otop_sync does not fetch {url}")

    return OwnFilesOnly()


if __name__ == "__main__":
    sys.exit(_render_main(sys.argv[1:]))
