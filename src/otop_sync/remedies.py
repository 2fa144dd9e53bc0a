"""What to do about each kind of problem, in plain Thai, for whoever can act on it.

A district officer cannot edit the spreadsheet: what they can do is send the form again, and the latest
report of a month replaces the earlier one. A problem in the base year, or in a column Google Forms
fills by itself, is the coordinator's to fix in the spreadsheet. The wording lives here once, so the
tab ตรวจสอบข้อมูล, the brief, the LINE announcement and the guides in docs/ say the same thing.
"""

from __future__ import annotations

from collections.abc import Iterable

REPLACES = "รายงานล่าสุดจะใช้แทนรายงานเดิม"


def resend(fixes: Iterable[str]) -> str:
    """ "ส่งแบบฟอร์มใหม่ โดย<fix> และ<fix> — รายงานล่าสุดจะใช้แทนรายงานเดิม": one sentence, however many."""
    return f"ส่งแบบฟอร์มใหม่ โดย{' และ'.join(dict.fromkeys(fixes))} — {REPLACES}"


# By the response field whose answer could not be used: what the officer does in the form.
FIX_IN_FORM = {
    "district": "เลือกชื่ออำเภอให้ตรงกับรายชื่ออำเภอของจังหวัด",
    "month": "เลือกเดือนที่รายงาน (ไม่เกินเดือนที่ส่ง) เช่น “กรกฎาคม 2567”",
    "new_products": "กรอกจำนวนผลิตภัณฑ์เป็นจำนวนเต็มตั้งแต่ 0 ขึ้นไป เช่น “2”",
    "sales": "กรอกยอดจำหน่ายสะสมเป็นตัวเลข เช่น “50000”",
}
# Google Forms fills the timestamp itself: an unreadable one was edited in the spreadsheet.
TIMESTAMP = "ผู้ประสานงานคืนค่าประทับเวลาในแท็บคำตอบ (Google Forms บันทึกเอง ไม่ควรแก้ไข)"


def for_response(fields: Iterable[str]) -> tuple[str, ...]:
    """What to do about a response row whose `fields` could not be used."""
    fields = list(fields)
    fixes = [FIX_IN_FORM[field] for field in fields if field in FIX_IN_FORM]
    return ((resend(fixes),) if fixes else ()) + ((TIMESTAMP,) if "timestamp" in fields else ())


BASE_YEAR = "ผู้ประสานงานแก้แถวนี้ในแท็บยอดจำหน่ายปีฐาน"
BASE_YEAR_REPEATED = "ผู้ประสานงานลบแถวที่ซ้ำในแท็บยอดจำหน่ายปีฐาน (ขณะนี้ใช้แถวแรก)"
FALLING = "สอบถามอำเภอ หากยอดสะสมไม่ถูกต้อง " + resend(["กรอกยอดสะสมตั้งแต่ต้นไตรมาสที่ถูกต้อง"])
STALE = "สอบถามอำเภอว่าเดือนที่รายงานถูกต้องหรือไม่ หากไม่ถูก " + resend(["เลือกเดือนที่ถูกต้อง"])
UNREADABLE_TEXT = "สอบถามอำเภอแล้วแก้ข้อความในแท็บคำตอบ (ไม่มีผลต่อระดับ)"
# A row for a quarter that has closed: its grades are final. Counting it is a decision, not a repair.
AFTER_CLOSING = (
    "ผลของไตรมาสที่ปิดแล้วไม่เปลี่ยน หากจำเป็นต้องนับรายงานนี้ ผู้ดูแลระบบขยาย grace_days ใน schedule.toml "
    "แล้วสั่ง otop-sync run --regrade"
)
EXTREME_GROWTH = "ตรวจสอบยอดจำหน่ายกับอำเภอ และยอดปีฐานในแท็บยอดจำหน่ายปีฐาน"


def joined(remedies: Iterable[str]) -> str:
    """Several remedies as one text, each once, in order."""
    return "; ".join(dict.fromkeys(r for r in remedies if r))
