"""The HTML brief made to stand alone: its fonts embedded as ``data:`` URLs, subset to the page's characters.

The page the renderer draws names otop_sync's font files by ``file://`` URLs inside the installed package:
opened anywhere else (a phone, from Google Drive, another computer), such a page shows the server's
folders and falls back to another font. The copy written to disk carries the fonts itself, cut down to
the characters it uses (with every glyph Thai shaping may reach from them), so it is a few tens of
kilobytes larger, not a few hundred.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterable
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont


def subset_font(path: Path, characters: str) -> bytes:
    options = subset.Options()
    options.layout_features = ["*"]  # Thai marks are placed by GPOS and composed by GSUB: keep them all
    options.name_IDs = ["*"]
    options.notdef_outline = True
    font = TTFont(path)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=characters)
    subsetter.subset(font)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def standalone(page: str, fonts: Iterable[Path]) -> str:
    """`page` with each font's ``file://`` URL replaced by a ``data:`` URL of the font, subset to the
    characters of the page (its markup included: a few ASCII letters more, never one missing)."""
    characters = "".join(sorted(set(page)))
    for path in fonts:
        data = base64.b64encode(subset_font(path, characters)).decode("ascii")
        page = page.replace(path.as_uri(), f"data:font/ttf;base64,{data}")
    return page
