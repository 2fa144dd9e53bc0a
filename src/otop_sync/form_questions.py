"""The Google Form the configuration expects, question by question: what `otop-sync form` prints.

Pure: configuration in, a description out, as Markdown for the person who builds the form and as JSON
for a script. The titles are the first title form.toml lists for each question, character for
character, since the reader finds its columns by them; the district and the month are dropdowns, so
that what an officer picks is always readable; the figures are short answers with the response
validation Google Forms offers for numbers. Google Forms adds the timestamp column itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from otop_sync.config import Config
from otop_sync.periods import BE_OFFSET, THAI_MONTHS, Month, Quarter
from otop_sync.remedies import REPLACES

# Google Forms' names for its question types and settings, as its Thai interface shows them.
TYPE_NAMES = {"dropdown": "เลื่อนลง (Dropdown)", "short_answer": "คำตอบสั้นๆ", "paragraph": "ย่อหน้า"}
VALIDATION_NAMES = {
    "whole_number": "ตัวเลข → จำนวนเต็ม",
    "greater_than_or_equal": "ตัวเลข → มากกว่าหรือเท่ากับ",
}


@dataclass(frozen=True)
class Validation:
    """Google Forms' response validation for a short answer: Number, then one condition."""

    condition: str  # "whole_number" or "greater_than_or_equal"
    value: int | None = None
    message: str = ""  # the error text an officer sees when the answer is refused


@dataclass(frozen=True)
class Question:
    field: str  # the name form.toml gives the column
    title: str
    type: str  # "dropdown", "short_answer" or "paragraph"
    required: bool
    description: str = ""
    choices: tuple[str, ...] = ()
    validation: Validation | None = None


@dataclass(frozen=True)
class FormSpec:
    province: str
    fiscal_year: int
    responses_tab: str
    timestamp_title: str
    questions: tuple[Question, ...]
    description: str = ""  # the form's own description, under its title

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def month_choice(month: Month) -> str:
    """ "ตุลาคม 2567": a month as the dropdown offers it, read back by the month reader."""
    return f"{THAI_MONTHS[month.month - 1]} {month.year + BE_OFFSET}"


def fiscal_months(fiscal_year: int) -> tuple[Month, ...]:
    """October of the year before to September, for a B.E. fiscal year."""
    return tuple(m for n in range(1, 5) for m in Quarter(fiscal_year, n).months)


def expected_form(config: Config, *, fiscal_year: int, months: Sequence[Month] | None = None) -> FormSpec:
    """The form the configuration reads. The month question offers `months` (see
    quarter_life.offered_months: every month whose report can still count), else the fiscal year's."""
    titles = config.form.columns
    number = "กรอกเป็นตัวเลขเท่านั้น ไม่ต้องใส่หน่วยหรือเครื่องหมายจุลภาค"
    questions = (
        Question(
            "district",
            titles["district"][0],
            "dropdown",
            required=True,
            choices=tuple(d.name for d in config.province.districts),
        ),
        Question(
            "month",
            titles["month"][0],
            "dropdown",
            required=True,
            description="เดือนของข้อมูลที่รายงาน (ไม่เกินเดือนปัจจุบัน)",
            choices=tuple(month_choice(m) for m in (months or fiscal_months(fiscal_year))),
        ),
        Question(
            "new_products",
            titles["new_products"][0],
            "short_answer",
            required=True,
            description=f"จำนวนผลิตภัณฑ์ที่ลงทะเบียนเพิ่มตั้งแต่ต้นไตรมาสถึงเดือนที่รายงาน {number} เช่น 2",
            validation=Validation("whole_number", message="กรอกจำนวนเต็ม เช่น 2"),
        ),
        Question(
            "sales",
            titles["sales"][0],
            "short_answer",
            required=True,
            description=f"ยอดจำหน่ายสะสมตั้งแต่ต้นไตรมาสถึงเดือนที่รายงาน (บาท) {number} เช่น 50000",
            validation=Validation("greater_than_or_equal", 0, "กรอกตัวเลขตั้งแต่ 0 ขึ้นไป เช่น 50000"),
        ),
        Question("reporter", titles["reporter"][0], "short_answer", required=False),
        Question(
            "phone",
            titles["phone"][0],
            "short_answer",
            required=False,
            description="เบอร์ที่ผู้ประสานงานจังหวัดโทรสอบถามได้",
        ),
        Question("remarks", titles["remarks"][0], "paragraph", required=False),
    )
    return FormSpec(
        config.province.name,
        fiscal_year,
        config.form.tabs.responses[0],
        titles["timestamp"][0],
        questions,
        f"รายงานผลการดำเนินงาน{config.province.mission} ภายในวันที่ {config.deadlines.due_day} ของทุกเดือน "
        f"ตัวเลขเป็นยอดสะสมตั้งแต่ต้นไตรมาส หากกรอกผิด ส่งแบบฟอร์มใหม่ได้ — {REPLACES}",
    )


def as_markdown(spec: FormSpec) -> str:
    lines = [
        f"# แบบฟอร์มรายงานผล OTOP จังหวัด{spec.province} ปีงบประมาณ {spec.fiscal_year}",
        "",
        "สร้างคำถามใน Google Forms ตามลำดับนี้ พิมพ์ชื่อคำถามให้ตรงทุกตัวอักษร (otop_sync หาคอลัมน์จากชื่อคำถาม) "
        f"แล้วเชื่อมแบบฟอร์มกับสเปรดชีต (การตอบกลับ → ลิงก์กับชีต) ซึ่งจะสร้างแท็บ “{spec.responses_tab}” "
        f"โดยมีคอลัมน์ “{spec.timestamp_title}” ที่ Google Forms เพิ่มให้เอง",
        "",
    ]
    for number, question in enumerate(spec.questions, 1):
        required = "จำเป็น" if question.required else "ไม่บังคับ"
        lines.append(f"{number}. **{question.title}** — {TYPE_NAMES[question.type]}, {required}")
        if question.description:
            lines.append(f"   - คำอธิบาย: {question.description}")
        if question.choices:
            lines.append(f"   - ตัวเลือก ({len(question.choices)}): " + ", ".join(question.choices))
        if question.validation:
            rule = question.validation
            value = f" {rule.value}" if rule.value is not None else ""
            lines.append(
                f"   - การตรวจสอบคำตอบ: {VALIDATION_NAMES[rule.condition]}{value}; "
                f"ข้อความแสดงข้อผิดพลาด: “{rule.message}”"
            )
    lines += [
        "",
        "ตัวเลือกของเดือนคือทุกเดือนที่ไตรมาสยังไม่ปิด (รายงานยังนับได้) และทุกเดือนของปีงบประมาณปัจจุบัน "
        "`otop-sync form --apply` ปรับให้ทุกต้นเดือน: เพิ่มเดือนของปีงบประมาณใหม่ และนำเดือนของไตรมาสที่ปิดแล้วออก",
    ]
    return "\n".join(lines) + "\n"
