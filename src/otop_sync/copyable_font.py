"""Sarabun made copyable: text copied out of the brief's PDF is the Thai the page shows.

A PDF maps each glyph to one text (its ToUnicode map), and WeasyPrint keeps the first text it sees for a
glyph. HarfBuzz draws sara am (ำ) as nikhahit and sara aa (า), the latter with the very glyph of a plain
า: whichever came first, every า of the page then copied as ำ ("สำนักงำน"), or every ำ as า. Here the
font gets copies of the sara aa glyph, one drawn after a bare nikhahit and one after each nikhahit with
a tone mark (Sarabun joins those two into one glyph), chosen by a contextual substitution added to its
ccmp feature: each copy always stands for the same text (ำ, ่ำ, ้ำ, ๊ำ, ๋ำ), and the plain glyph for า.
The outlines and metrics are the same, so the page looks exactly as before.
"""

from __future__ import annotations

import copy
import functools
import io
from pathlib import Path

from fontTools.otlLib import builder as otl
from fontTools.ttLib import TTFont

TONES = ("0E48", "0E49", "0E4A", "0E4B")  # mai ek, mai tho, mai tri, mai chattawa


@functools.cache
def copyable(path: Path) -> bytes:
    """The font file at `path`, with the copies of sara aa and the substitution that picks them."""
    font = TTFont(io.BytesIO(path.read_bytes()))
    cmap = font.getBestCmap()
    aa, nikhahit = cmap[0xE32], cmap[0xE4D]
    names = list(font.getGlyphOrder())
    glyf, hmtx, gdef = font["glyf"], font["hmtx"], font["GDEF"].table
    gsub = font["GSUB"].table
    lookups = gsub.LookupList.Lookup
    chain = otl.ChainContextSubstBuilder(font, None)

    def copy_of_aa(suffix: str) -> object:
        new = f"{aa}.am{suffix}"
        names.append(new)
        glyf.glyphs[new] = copy.deepcopy(glyf[aa])
        hmtx.metrics[new] = hmtx.metrics[aa]
        if gdef.GlyphClassDef:
            gdef.GlyphClassDef.classDefs[new] = gdef.GlyphClassDef.classDefs.get(aa, 1)
        single = otl.buildLookup([otl.buildSingleSubstSubtable({aa: new})])
        lookups.append(single)
        single.lookup_index = len(lookups) - 1
        return single

    bare = {g for g in names if g.split(".")[0] == nikhahit}
    for tone in TONES:
        single = copy_of_aa(tone)
        joined = {g for g in names if g.startswith(nikhahit + tone)}  # Sarabun's nikhahit-and-tone glyph
        marks = {g for g in names if g.split(".")[0] == f"uni{tone}"}
        if joined:
            chain.rules.append(otl.ChainContextualRule([joined], [{aa}], [], [[single]]))
        chain.rules.append(otl.ChainContextualRule([bare, marks], [{aa}], [], [[single]]))
    chain.rules.append(otl.ChainContextualRule([bare], [{aa}], [], [[copy_of_aa("")]]))
    font.setGlyphOrder(names)
    glyf.glyphOrder = names
    font["maxp"].numGlyphs = len(names)
    lookups.append(chain.build())
    gsub.LookupList.LookupCount = len(lookups)
    for record in gsub.FeatureList.FeatureRecord:
        if record.FeatureTag == "ccmp":
            record.Feature.LookupListIndex.append(len(lookups) - 1)
            record.Feature.LookupCount = len(record.Feature.LookupListIndex)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()
