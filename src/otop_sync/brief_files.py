"""The brief's files: each edition's HTML and PDF, brief-latest always the newest edition by as-of,
written atomically; and the form's QR code for the province's letter.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import segno

from otop_sync.atomic import atomic_target
from otop_sync.brief import FONT_FILES, render_html
from otop_sync.brief_pdf import WarmRenderer, render_pdf
from otop_sync.brief_renderer import font_folder
from otop_sync.config import Config
from otop_sync.embedded_fonts import standalone
from otop_sync.errors import BriefError, RendererStopped
from otop_sync.outcome import Outcome
from otop_sync.periods import BE_OFFSET, to_bangkok
from otop_sync.statefile import WrongShape, aware, read_state

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BriefFiles:
    html: Path
    pdf: Path
    pages: int
    newest: bool = True  # brief-latest is this edition (not an older one rendered later)


def write_brief(
    outcome: Outcome,
    config: Config,
    *,
    output: Path,
    folders: Sequence[Path],
    timeout_seconds: float = 60,
    renderer: WarmRenderer | None = None,
) -> BriefFiles:
    """Render and write brief-<quarter>-<B.E. date>.html/.pdf and brief-latest.html/.pdf, atomically."""
    page = render_html(outcome, config, folders=folders)
    try:
        pdf, pages = render_pdf(
            page, allowed=[*folders, font_folder()], timeout_seconds=timeout_seconds, renderer=renderer
        )
    except RendererStopped as exc:
        raise RendererStopped(
            f"stopped: the brief of {outcome.quarter.label} was not rendered ({exc})"
        ) from None
    # The file stands alone, its fonts inside it: opened from Drive or on a phone, it looks as printed.
    html = standalone(page, (font_folder() / name for name, _, _ in FONT_FILES)).encode()
    day = to_bangkok(outcome.as_of)
    stem = f"brief-{outcome.quarter.code}-{day.year + BE_OFFSET:04d}-{day.month:02d}-{day.day:02d}"
    files = [(f"{stem}.html", html), (f"{stem}.pdf", pdf)]
    latest = latest_edition(output)
    newest = latest is None or latest <= outcome.as_of
    if newest:
        marker = json.dumps({"as_of": outcome.as_of.isoformat(), "edition": stem}).encode()
        files += [("brief-latest.html", html), ("brief-latest.pdf", pdf), (LATEST_MARKER, marker)]
    try:
        output.mkdir(parents=True, exist_ok=True)
        # Every file written in full before any replaces its old self: a disk that fills up leaves the
        # previous edition whole, never a latest HTML of one edition beside a latest PDF of another.
        with contextlib.ExitStack() as replacing:
            for name, content in files:
                replacing.enter_context(atomic_target(output / name, mode=0o644)).write_bytes(content)
    except OSError as exc:
        raise BriefError(f"cannot write the brief into {output}: {exc.strerror or exc}") from exc
    log.info("brief written: %s (%d pages)", output / f"{stem}.pdf", pages)
    if not newest:
        assert latest is not None
        log.info("brief-latest stays the edition as of %s, newer than this one", latest.isoformat())
    return BriefFiles(output / f"{stem}.html", output / f"{stem}.pdf", pages, newest)


# Which edition brief-latest is: it is always the newest by as-of, never an older one rendered later.
LATEST_MARKER = "brief-latest.json"


def latest_edition(output: Path) -> datetime | None:
    """The as-of time of the edition brief-latest holds; None when there is none (or no marker)."""

    def parse(raw: Any) -> datetime:
        if not isinstance(raw, dict):
            raise WrongShape("not a JSON object")
        return aware(raw.get("as_of"))

    return read_state(output / LATEST_MARKER, parse, empty=None)


def write_qr(url: str, output: Path) -> tuple[Path, Path]:
    """The form's QR code as SVG and PNG, for the province's letter."""
    if not url:
        raise BriefError("no form_url in province.toml: nothing to encode")
    code = segno.make(url, error="m")
    svg, png = output / "form-qr.svg", output / "form-qr.png"
    try:
        output.mkdir(parents=True, exist_ok=True)
        code.save(str(svg), scale=10, border=4)
        code.save(str(png), scale=10, border=4)
    except OSError as exc:
        raise BriefError(f"cannot write the QR code into {output}: {exc.strerror or exc}") from exc
    return svg, png
