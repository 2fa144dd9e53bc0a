"""One official digit style: numbers otop_sync composes in Thai digits, what must be matched as typed."""

from __future__ import annotations

import pytest

from otop_sync.numerals import Numerals


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("ยอด 1,400,000.00 บาท ขาดอีก 0.74 จุด", "ยอด ๑,๔๐๐,๐๐๐.๐๐ บาท ขาดอีก ๐.๗๔ จุด"),
        ("กำหนดส่ง 15 กันยายน 2567 เวลา 23.59 น.", "กำหนดส่ง ๑๕ กันยายน ๒๕๖๗ เวลา ๒๓.๕๙ น."),
        # What an officer typed, quoted, and a tab's title, quoted: searched for in the sheet as typed.
        ("ยอดจำหน่ายไม่ใช่ตัวเลข (“50,000 บ.”) แถวที่ 21", "ยอดจำหน่ายไม่ใช่ตัวเลข (“50,000 บ.”) แถวที่ ๒๑"),
        ("แท็บ “การตอบกลับแบบฟอร์ม 1” แถวที่ 9", "แท็บ “การตอบกลับแบบฟอร์ม 1” แถวที่ ๙"),
        ("รายงานได้ที่ https://forms.gle/a1b2", "รายงานได้ที่ https://forms.gle/a1b2"),
        # Telephone numbers stay tappable; an amount of ten digits is not one.
        ("โทร. 0812345604 หรือ 042-411-234.", "โทร. 0812345604 หรือ 042-411-234."),
        ("โทร.081 234 5678 (2 สาย)", "โทร.081 234 5678 (๒ สาย)"),
        ("ยอด 10,812,345,604 บาท", "ยอด ๑๐,๘๑๒,๓๔๕,๖๐๔ บาท"),
    ],
)
def test_thai_digits_except_what_is_matched_as_typed(text: str, shown: str) -> None:
    assert Numerals(thai=True)(text) == shown


def test_arabic_digits_leave_every_text_alone() -> None:
    text = "ร้อยละ 5.23 โทร. 0812345604 “๕๐๐๐๐”"
    assert Numerals(thai=False)(text) == text
