"""Thai text as officers type it on phones, cleaned and folded so that look-alike spellings compare equal.

Pure. Thai search engines normalise the same way: "ํา" (nikhahit + sara aa) is "ำ"; an upper or lower
vowel typed after its tone mark or thanthakhat is put back in front of it ("โพธ์ิตาก" is "โพธิ์ตาก"); a
mark typed twice counts once ("ท่่าบ่อ" is "ท่าบ่อ"). One function, ``district_key``, is how a district's
name is compared, by the configuration's check and by the reader alike.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable
from typing import TypeVar

# Zero-width characters, the soft hyphen, and the bidirectional controls (U+202A-202E, U+2066-2069,
# U+200E/200F, U+061C): invisible, and an override typed into a name would show what follows it (a
# telephone number) reversed in the sheet, the brief and LINE.
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad" + BIDI_CONTROLS), None)
_NO_BIDI = dict.fromkeys(map(ord, BIDI_CONTROLS), None)


def without_bidi_controls(text: str) -> str:
    """The text with no bidirectional control: what a quoted answer shows."""
    return text.translate(_NO_BIDI)


_TO_ARABIC = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
_VOWELS = "\u0e31\u0e34-\u0e3a\u0e47"  # above (ั ิ ี ึ ื ็) and below (ุ ู ฺ) the consonant
_MARKS = "\u0e48-\u0e4c"  # tone marks ่ ้ ๊ ๋ and the thanthakhat ์
_SARA_AM = re.compile("\u0e4d([\u0e48-\u0e4b]?)\u0e32")  # nikhahit, perhaps a tone mark, sara aa
_VOWEL_AFTER_MARK = re.compile(f"([{_MARKS}]+)([{_VOWELS}]+)")
_TWICE = re.compile(f"([{_VOWELS}{_MARKS}\u0e4d])\\1+")
_DISTRICT_PREFIXES = ("อำเภอ", "อ.")


def normalise(text: str) -> str:
    """The canonical spelling of Thai text typed in any of the orders phones allow."""
    text = _SARA_AM.sub("\\1\u0e33", text)
    text = _TWICE.sub("\\1", text)
    while True:
        reordered = _VOWEL_AFTER_MARK.sub("\\2\\1", text)
        if reordered == text:
            return text
        text = reordered


# A district's name, a month's label or an amount comes back thousands of times, so what is made of it
# is remembered; only when it is short, since a long text is seldom repeated, and a service that runs for
# months must not keep a hostile workbook's megabyte answers after their run.
CACHED_LENGTH = 200
T = TypeVar("T")


def remembered_when_short(maxsize: int) -> Callable[[Callable[[str], T]], Callable[[str], T]]:
    """A function of one text whose results are remembered (the last `maxsize`) for texts of at most
    CACHED_LENGTH characters; a longer text is worked out each time and not kept."""

    def decorate(function: Callable[[str], T]) -> Callable[[str], T]:
        cached = functools.lru_cache(maxsize=maxsize)(function)

        @functools.wraps(function)
        def call(text: str) -> T:
            return cached(text) if len(text) <= CACHED_LENGTH else function(text)

        return call

    return decorate


@remembered_when_short(65536)
def clean_text(value: str) -> str:
    """Trimmed, runs of white space folded, zero-width characters dropped, Thai digits made Arabic, Thai
    spelling normalised."""
    text = unicodedata.normalize("NFC", value).translate(_INVISIBLE).translate(_TO_ARABIC)
    return " ".join(normalise(text).split())


@remembered_when_short(65536)
def district_key(text: str) -> str:
    """How a district's name, alias or code is compared: cleaned, without "อำเภอ"/"อ.", spaces or case."""
    folded = clean_text(text)
    for prefix in _DISTRICT_PREFIXES:
        if folded.startswith(prefix):
            folded = folded[len(prefix) :]
            break
    return "".join(folded.split()).casefold()
