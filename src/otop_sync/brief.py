"""The executive brief's page: the quarter in Thai, as HTML, for the monthly executive meeting.

The page is built from the same results as the tabs; it imports Jinja2 and segno (the QR code). The PDF
is rendered from it in a separate process (``brief_pdf.py`` supervises it, ``brief_renderer.py`` is the
child), and the files are written by ``brief_files.py``.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import jinja2
import segno
from markupsafe import Markup

from otop_sync.brief_renderer import font_folder
from otop_sync.charts import (
    SUMMARY_FROM,
    Threshold,
    extremes_chart,
    growth_chart,
    levels_chart,
    products_chart,
)
from otop_sync.config import Config
from otop_sync.errors import BriefError
from otop_sync.grading import DistrictResult, Status, Timeliness
from otop_sync.numerals import Numerals
from otop_sync.outcome import Issue, Outcome
from otop_sync.periods import Month, format_thai_date, format_thai_moment, to_bangkok
from otop_sync.rules import Rubric
from otop_sync.tables import FLAGGED, NO_GRADE, REJECTED, baht, grade_text, needs_text, round_text, rounded

TEMPLATE = "brief.html.j2"
STYLESHEET = "brief.css"
# No italic face: Thai official documents do not set text in italics.
FONT_FILES = (
    ("Sarabun-Regular.ttf", 400, "normal"),
    ("Sarabun-Bold.ttf", 700, "normal"),
)


# The page's content -------------------------------------------------------------------------------


# Drawn where an answer holds a character the brief's font has no glyph for (an emoji, Lao, Khmer, a
# control character otop_sync already showed as "�"): the page shows that something was there, in Sarabun
# itself, and the PDF never falls back to another font.
PLACEHOLDER = "■"


@functools.cache
def _undrawable() -> re.Pattern[str]:
    """The characters Sarabun has no glyph for, as one character class (the regular and bold faces
    cover the same characters)."""
    from fontTools.ttLib import TTFont

    covered = sorted(TTFont(font_folder() / FONT_FILES[0][0]).getBestCmap())
    ranges, start = [], covered[0]
    for previous, current in itertools.pairwise([*covered, -1]):
        if current != previous + 1:
            ranges.append(f"{re.escape(chr(start))}-{re.escape(chr(previous))}")
            start = current
    return re.compile(f"[^{''.join(ranges)}\n\t]")


def drawable(value: Any) -> Any:
    """Text the template prints, with every character Sarabun cannot draw shown as PLACEHOLDER, and the
    invisible formatting characters (bidi overrides among them: a name typed with U+202E would show a
    telephone number after it reversed) dropped. Markup (charts, the QR code) is otop_sync's own."""
    if not isinstance(value, str) or isinstance(value, Markup):
        return value
    return _undrawable().sub(_placeholder, value)


def _placeholder(found: re.Match[str]) -> str:
    return "" if unicodedata.category(found[0]) == "Cf" else PLACEHOLDER


def font_faces() -> list[dict[str, Any]]:
    """The Sarabun files as file:// URLs (WeasyPrint ignores bare paths); missing ones fail loudly."""
    folder = font_folder()
    faces = []
    for name, weight, style in FONT_FILES:
        path = folder / name
        if not path.is_file():
            raise BriefError(f"the Thai font {name} is missing ({path}): reinstall fontpkg-sarabun")
        faces.append({"url": path.as_uri(), "weight": weight, "style": style})
    return faces


def _css(grade: str) -> str:
    return f"grade-{grade.lower()}" if grade in ("A", "B", "C", "D") else "grade-none"


def _signed(value: Decimal | None) -> str:
    """A growth for a table whose header says "(ร้อยละ)": "+8.51", or a dash."""
    shown = rounded(value)
    return f"{shown:+.2f}" if shown is not None else "–"


def _district_row(result: DistrictResult, digits: Numerals) -> dict[str, Any]:
    report, base = result.report, result.base
    grade = grade_text(result)
    return {
        "name": result.district.name,
        "products": digits(str(report.new_products)) if report else "–",
        "sales": digits(baht(report.sales)) if report else "–",
        "base": digits(baht(base.sales)) if base and base.sales is not None else "–",
        "growth": digits(_signed(result.growth_pct)),
        "grade": grade,
        "grade_css": _css(grade),
        "products_grade": result.products_level.value if result.products_level else "",
        "sales_grade": result.growth_level.value if result.growth_level else "",
        "needs": digits(needs_text(result)),
        "notes": [digits(note) for note in result.notes],
    }


_TIMELINESS_CSS = {
    Timeliness.ON_TIME: "on-time",
    Timeliness.LATE: "late",
    Timeliness.NOT_REPORTED: "missing",
    Timeliness.PENDING: "pending",
}


def _grade_tiles(results: Sequence[DistrictResult], digits: Numerals) -> list[dict[str, Any]]:
    counts = Counter(grade_text(r) for r in results)
    tiles = [
        {"label": f"ระดับ {g}", "count": digits(str(counts.get(g, 0))), "css": f"grade-{g.lower()}"}
        for g in "ABCD"
    ]
    for status in (Status.NO_BASE, Status.NOT_REPORTED):
        label = NO_GRADE[status]
        # The round's line below counts the round's reports: this card counts the whole quarter's.
        shown = f"{label}ทั้งไตรมาส" if status is Status.NOT_REPORTED else label
        tiles.append({"label": shown, "count": digits(str(counts.get(label, 0))), "css": "grade-none"})
    return tiles


def _current_round(results: Sequence[DistrictResult], digits: Numerals) -> dict[str, Any] | None:
    rounds = [r.rounds[-1] for r in results if r.rounds]
    if not rounds:
        return None
    counts = Counter(r.timeliness for r in rounds)
    latest = rounds[0]
    return {
        "label": digits(f"รอบที่ {len(results[0].rounds)} ({latest.month.label})"),
        "due_text": digits(f"{format_thai_date(latest.due.date())} เวลา {latest.due:%H.%M} น."),
        **{
            key: digits(str(counts[timeliness]))
            for key, timeliness in (
                ("on_time", Timeliness.ON_TIME),
                ("late", Timeliness.LATE),
                ("not_reported", Timeliness.NOT_REPORTED),
                ("pending", Timeliness.PENDING),
            )
        },
        "any_pending": bool(counts[Timeliness.PENDING]),
    }


# Rows of problems the brief lists. A systematic mistake (a base-year tab typed wrong, a month question
# answered in a new way) can make thousands: listed whole they took 42 pages for 500 and would have
# outrun the renderer's time limit, so the rest are counted, and the tab ตรวจสอบข้อมูล lists every one.
BRIEF_PROBLEMS = 40
UNNAMED = "(ไม่ระบุ)"


def _by_district(issues: Iterable[Issue]) -> dict[str, list[Issue]]:
    groups: dict[str, list[Issue]] = {}
    for issue in issues:
        groups.setdefault(issue.district or UNNAMED, []).append(issue)
    return groups


def _problems(issues: Sequence[Issue], digits: Numerals) -> list[dict[str, Any]]:
    """The problems, by district as written: where each is, who sent it and when, why, and what to do."""
    return [
        {
            "district": district,
            "entries": [
                {
                    "where": digits(f"แท็บ “{i.tab}” แถวที่ {i.row}"),
                    "kind": FLAGGED if i.flagged else BASE_YEAR_KIND if i.base_year else REJECTED,
                    "sent": digits(format_thai_moment(i.sender.submitted)) if i.sender.submitted else "",
                    "reporter": i.sender.reporter,
                    "phone": digits(i.sender.phone),
                    "reason": digits(i.reason),
                    "remedy": digits(i.remedy),
                }
                for i in group
            ],
        }
        for district, group in _by_district(issues).items()
    ]


def _listed_problems(outcome: Outcome) -> tuple[list[Issue], list[Issue]]:
    """The unresolved problems the brief lists, in its order (by district as written, then tab and row),
    and the rest. Taken a district at a time, its first problem, then its second, so that one district's
    hundred cannot hide another's one."""
    listed = (i for i in outcome.issues if i.open)
    issues = sorted(listed, key=lambda i: (i.district or UNNAMED, i.tab, i.row))
    turns = itertools.chain.from_iterable(itertools.zip_longest(*_by_district(issues).values()))
    chosen = {id(i) for i in itertools.islice((i for i in turns if i is not None), BRIEF_PROBLEMS)}
    return [i for i in issues if id(i) in chosen], [i for i in issues if id(i) not in chosen]


def _more_problems(rest: Sequence[Issue], digits: Numerals, tab: str) -> str:
    if not rest:
        return ""
    return digits(f"และอีก {len(rest):,} รายการ ดูครบทุกรายการในแท็บ “{tab}” ของสเปรดชีต")


BASE_YEAR_KIND = "ยอดปีฐาน"


def _condition_text(operator: str, value: object, unit: str) -> str:
    words = "ไม่น้อยกว่า" if operator == ">=" else "มากกว่า"
    return f"{words}{unit} {value}" if unit == "ร้อยละ" else f"{words} {value} {unit}"


def _rubric_rows(rubric: Rubric | None, digits: Numerals) -> list[dict[str, str]]:
    if rubric is None:
        return []
    rows = [
        {
            "grade": g.grade.value,
            "css": f"grade-{g.grade.value.lower()}",
            "products": digits(_condition_text(g.products.operator, g.products.value, "ผลิตภัณฑ์")),
            "growth": digits(_condition_text(g.growth_pct.operator, g.growth_pct.value, "ร้อยละ")),
        }
        for g in rubric.grades
    ]
    rows.append(
        {
            "grade": rubric.fallback.value,
            "css": f"grade-{rubric.fallback.value.lower()}",
            "products": "ไม่ถึงเกณฑ์ข้างต้น",
            "growth": "ไม่ถึงเกณฑ์ข้างต้น",
        }
    )
    return rows


DECISIONS = (
    "อำเภอได้ระดับสูงสุดที่ผ่านเกณฑ์ทั้งสองด้านพร้อมกัน หากไม่ผ่านระดับใดเลยได้ระดับ D",
    "“ไม่น้อยกว่า” นับรวมค่าที่เท่ากับเกณฑ์ “มากกว่า” ไม่นับค่าที่เท่ากับเกณฑ์ อัตราเพิ่มร้อยละ 2.00 พอดีจึงได้ระดับ D "
    "การเปรียบเทียบใช้ค่าเต็ม ไม่ปัดเศษ (แสดงผลทศนิยมสองตำแหน่ง)",
    "ยอดจำหน่ายเทียบกับเดือนเดียวกันของไตรมาสเดียวกันในปีงบประมาณก่อน หากปีฐานมีเฉพาะยอดรวมทั้งไตรมาสจะเทียบกับทั้งไตรมาส",
    "อำเภอที่ไม่มียอดจำหน่ายปีฐาน หรือยอดปีฐานเป็นศูนย์ ไม่จัดระดับ และระบุเหตุผลไว้",
    "อำเภอที่ยังไม่มีรายงานที่ใช้ได้ในไตรมาส แสดงเป็น “ยังไม่รายงาน”",
    "ไตรมาสคิดตามปีงบประมาณจากเดือนที่รายงาน (ไตรมาส 1 = ต.ค.–ธ.ค.) รายงานฉบับล่าสุดของเดือนล่าสุดเป็นฉบับที่นับ",
    "รายงานที่ส่งหลังกำหนดยังนับคะแนน แต่แสดงว่าส่งช้า แถวที่อ่านไม่ได้ไม่นำมาคำนวณและแสดงในตารางข้อมูลที่ต้องแก้ไข",
)


def _fiscal_year(outcome: Outcome, digits: Numerals, *, table: bool) -> dict[str, Any] | None:
    """The fiscal year so far, district by quarter, once the quarter's last round has begun: what the
    executives ask at the last meeting of a quarter, and of the year. Its `table` of rows only when the
    brief shows it (a national brief's annex gives each district's grades in the district's own row)."""
    quarter = outcome.quarter
    if Month.of(to_bangkok(outcome.as_of)) < quarter.months[-1] or not outcome.fiscal_year:
        return None
    return {
        "title": digits(f"ผลรายไตรมาส ปีงบประมาณ {quarter.fiscal_year}"),
        "quarters": [digits(f"ไตรมาส {n}") for n in range(1, quarter.number + 1)],
        "rows": [
            {
                "name": row.name,
                "cells": [
                    {"grade": grade or "–", "css": _css(grade), "growth": digits(_signed(growth))}
                    for grade, growth in zip(row.grades, row.growths, strict=True)
                ],
            }
            for row in (outcome.fiscal_year if table else ())  # an annex shows the grades in its rows
        ],
    }


_SHORT_TIMELINESS = {
    Timeliness.ON_TIME: "ตรง",
    Timeliness.LATE: "ช้า",
    Timeliness.NOT_REPORTED: "ขาด",
    Timeliness.PENDING: "รอ",
}


def _annex_cells(result: DistrictResult, quarters: Sequence[str], digits: Numerals) -> dict[str, str]:
    """What a national brief's one annex row adds to a district's row: its rounds and its fiscal year,
    in a cell each (a table of a thousand rows costs layout time by the cell)."""
    rounds = " · ".join(
        _SHORT_TIMELINESS[r.timeliness] + (f" {r.days_late}" if r.timeliness is Timeliness.LATE else "")
        for r in result.rounds
    )
    year = " ".join(g if g in ("A", "B", "C", "D") else "–" for g in quarters)
    return {"rounds": digits(rounds), "year": year}


def brief_context(outcome: Outcome, config: Config) -> dict[str, Any]:
    """Everything the template shows, as plain values (escaped by the template) and SVG charts, every
    number in the configured digits. Past `SUMMARY_FROM` districts, the charts summarise and the
    district tables move to an annex."""
    province, results = config.province, outcome.districts
    digits = Numerals(config.brief.thai_numerals)
    rubric = config.rubric_for(outcome.quarter)
    grades = rubric.grades if rubric else ()
    growth_thresholds = [Threshold(g.grade.value, g.growth_pct.value) for g in grades]
    product_thresholds = [Threshold(g.grade.value, g.products.value) for g in grades]
    summarised = len(results) >= SUMMARY_FROM
    charts = (
        [levels_chart(results, digits), extremes_chart(results, growth_thresholds, digits)]
        if summarised
        else [
            growth_chart(results, growth_thresholds, digits),
            products_chart(results, product_thresholds, digits),
        ]
    )
    districts = [_district_row(r, digits) for r in results]
    if summarised:
        years = {row.code: row.grades for row in outcome.fiscal_year}
        districts = [
            {**row, **_annex_cells(result, years.get(result.district.code, ()), digits)}
            for row, result in zip(districts, results, strict=True)
        ]
    as_of = to_bangkok(outcome.as_of)
    listed, rest = _listed_problems(outcome)
    return {
        "thai_digits": config.brief.thai_numerals,
        "title": digits(f"สรุปผล{province.mission} {outcome.quarter.label} {province.office}"),
        "office": province.office,
        "department": province.department,
        "slogan": province.slogan,
        "mission": province.mission,
        "quarter_label": digits(outcome.quarter.label),
        "date_text": digits(format_thai_date(as_of.date())),
        "as_of_iso": as_of.isoformat(),
        "as_of_text": digits(format_thai_moment(as_of)),
        "computed_at_text": digits(format_thai_moment(outcome.computed_at)),
        "font_faces": font_faces(),
        "grade_tiles": _grade_tiles(results, digits),
        "round": _current_round(results, digits),
        "district_count": digits(str(len(results))),
        "annex": summarised,
        "districts": districts,
        "charts": [Markup(chart) for chart in charts],
        "due_day_text": digits(str(config.deadlines.due_day)),
        "round_months": [digits(m.label) for m in outcome.quarter.months],
        "timeliness": [
            {
                "name": r.district.name,
                "cells": [
                    {"text": digits(round_text(x)), "css": _TIMELINESS_CSS[x.timeliness]} for x in r.rounds
                ]
                + [{"text": "", "css": ""}] * (3 - len(r.rounds)),
            }
            for r in results
            if not summarised  # in an annex, each district's rounds are one cell of its row
        ],
        "fiscal_year": _fiscal_year(outcome, digits, table=not summarised),
        "problems": _problems(listed, digits),
        "more_problems": _more_problems(rest, digits, config.form.tabs.problems),
        "qr_svg": Markup(qr_svg(province.form_url)) if province.form_url else "",
        "form_url": province.form_url,
        "coordinators": [
            {"name": digits(c.name), "position": digits(c.position), "phone": digits(c.phone)}
            for c in province.coordinators
            if c.name
        ],
        "rubric": _rubric_rows(rubric, digits),
        "decisions": [digits(d) for d in DECISIONS],
    }


def qr_svg(url: str) -> str:
    return str(segno.make(url, error="m").svg_inline(scale=4, border=2, omitsize=True))


# Rendering ----------------------------------------------------------------------------------------


def render_html(outcome: Outcome, config: Config, *, folders: Sequence[Path]) -> str:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(f) for f in folders]),
        autoescape=True,  # a district's remark "<script>" is shown as text
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        finalize=drawable,  # every value printed, whatever an officer typed, in the brief's font
    )
    try:
        stylesheet = Markup(environment.loader.get_source(environment, STYLESHEET)[0])  # type: ignore[union-attr]
        context = brief_context(outcome, config)
        return environment.get_template(TEMPLATE).render(**context, stylesheet=stylesheet)
    except jinja2.TemplateSyntaxError as exc:
        raise BriefError(f"template {exc.filename or exc.name}: line {exc.lineno}: {exc.message}") from exc
    except jinja2.TemplateError as exc:
        raise BriefError(f"template {TEMPLATE}: {exc}") from exc
    except (TypeError, ValueError, AttributeError, KeyError) as exc:  # a custom template's mistake
        raise BriefError(f"template {TEMPLATE}: {type(exc).__name__}: {exc}") from exc
