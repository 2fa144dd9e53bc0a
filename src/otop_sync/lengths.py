"""Text measured and cut the way Excel, Google Sheets and LINE count it: in UTF-16 code units.

Pure. Python counts code points; these services count UTF-16 units, so an emoji or a rare CJK character
is 2 where Python says 1 (LINE's "Character counting in a text"). A cut never splits such a pair.
"""

from __future__ import annotations

from collections.abc import Callable


def utf16_length(text: str) -> int:
    if text.isascii():
        return len(text)
    # surrogatepass: a lone surrogate (which only a broken client sends) counts as the one unit it is.
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def cut(text: str, units: int) -> str:
    """The longest start of `text` that is at most `units` UTF-16 units long."""
    if utf16_length(text) <= units:
        return text
    head = text.encode("utf-16-le", "surrogatepass")[: 2 * max(units, 0)]
    if len(head) >= 2 and 0xD800 <= int.from_bytes(head[-2:], "little") <= 0xDBFF:
        head = head[:-2]  # the first half of a pair whose second half did not fit
    return head.decode("utf-16-le", "surrogatepass")


def fit(text: str, units: int, mark: Callable[[str], str]) -> str:
    """`text` whole when it fits in `units`, else its start followed by `mark(kept)`, the two together
    within `units`. `mark` is told what was kept, so that it can say how much that is."""
    if 2 * len(text) <= units or utf16_length(text) <= units:  # no character is more than 2 units
        return text
    room = units - utf16_length(mark(text))  # the mark for the whole text is the longest it can be
    kept = cut(text, room)
    return kept + mark(kept)
