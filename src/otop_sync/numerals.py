"""Numbers as people read them: one official style for the brief and the LINE texts.

Official Thai writing uses Thai digits (๐-๙) throughout a page, or Arabic digits throughout, never both,
and "ร้อยละ" for per cent in running text. One setting chooses: ``[brief] thai_numerals``. The tabs keep
numbers as numbers, since they are data. What a person typed (otop_sync quotes it “like this”), links and
telephone numbers are shown as typed: a coordinator searches the spreadsheet for them as they are, and
taps a number to call it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from otop_sync.periods import thai_digits

# Left as typed: a quoted answer, a link, and a Thai telephone number (0 and 8 or 9 more digits, maybe
# with dashes or spaces), which LINE and a phone's browser turn into a tap-to-call link only in Arabic.
_AS_TYPED = re.compile(r"“[^”]*”|https?://\S+|(?<!\d)(?<!\d[,.])0\d(?:[- ]?\d){7,8}(?!\d|[,.]\d)")


@dataclass(frozen=True)
class Numerals:
    thai: bool = True

    def __call__(self, text: str) -> str:
        """`text` in the chosen digits, its quoted answers and links left as typed."""
        if not self.thai:
            return text
        parts: list[str] = []
        start = 0
        for kept in _AS_TYPED.finditer(text):
            parts.extend((thai_digits(text[start : kept.start()]), kept[0]))
            start = kept.end()
        parts.append(thai_digits(text[start:]))
        return "".join(parts)
