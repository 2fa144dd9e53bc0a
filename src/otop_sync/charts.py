"""The brief's two charts as inline SVG, drawn from the results: no browser, no JavaScript.

Pure: results in, SVG text out. Growth by district against the rubric's growth thresholds, and new
products against its product thresholds; bars take the grade's colour.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from xml.sax.saxutils import escape, quoteattr

from otop_sync.grading import DistrictResult

GRADE_COLOURS = {"A": "#3a9d5d", "B": "#4a7fc1", "C": "#e0a526", "D": "#d0494b"}
NO_GRADE_COLOUR = "#9e9e9e"
WIDTH = 680
LABEL_WIDTH = 130
VALUE_WIDTH = 62
GROWTH_AXIS_LIMITS = (Decimal(-50), Decimal(100))


@dataclass(frozen=True)
class Threshold:
    grade: str
    value: Decimal


@dataclass(frozen=True)
class _Bar:
    label: str
    value: Decimal | None
    text: str
    colour: str


def growth_chart(results: Sequence[DistrictResult], thresholds: Sequence[Threshold]) -> str:
    bars = [
        _Bar(
            r.district.name,
            r.growth_pct,
            f"{r.growth_pct:+.2f}%" if r.growth_pct is not None else "ไม่มีข้อมูล",
            _colour(r),
        )
        for r in results
    ]
    values = [b.value for b in bars if b.value is not None] + [t.value for t in thresholds] + [Decimal(0)]
    # Whole percents at the ends of the axis; beyond -50 % or +100 % a bar is cut at the edge.
    low = max(min(min(values), Decimal(-5)).to_integral_value(ROUND_FLOOR), GROWTH_AXIS_LIMITS[0])
    top = max(max(values), max((t.value for t in thresholds), default=Decimal(5)) + 3)
    high = min(top.to_integral_value(ROUND_CEILING), GROWTH_AXIS_LIMITS[1])
    return _bar_chart("อัตราเพิ่มของยอดจำหน่าย (%) เทียบไตรมาสเดียวกันของปีฐาน", bars, thresholds, low, high, "%")


def products_chart(results: Sequence[DistrictResult], thresholds: Sequence[Threshold]) -> str:
    bars = [
        _Bar(
            r.district.name,
            Decimal(r.report.new_products) if r.report else None,
            str(r.report.new_products) if r.report else "ยังไม่รายงาน",
            _colour(r),
        )
        for r in results
    ]
    top = max(
        [b.value for b in bars if b.value is not None] + [t.value + 1 for t in thresholds] + [Decimal(4)]
    )
    return _bar_chart("ผลิตภัณฑ์ที่ลงทะเบียนเพิ่มในไตรมาส", bars, thresholds, Decimal(0), top, "")


def _colour(result: DistrictResult) -> str:
    return GRADE_COLOURS.get(result.grade.value, NO_GRADE_COLOUR) if result.grade else NO_GRADE_COLOUR


def _bar_chart(
    title: str, bars: Sequence[_Bar], thresholds: Sequence[Threshold], low: Decimal, high: Decimal, unit: str
) -> str:
    # Many districts make thinner rows, so that one chart still fits on a page.
    row = max(6, min(22, 560 // max(len(bars), 1)))
    # Threshold labels sit on rows of their own, so that close thresholds (2 %, 3 %) never overlap.
    top, bottom = 26 + 9 * len(thresholds), 22
    height = top + row * len(bars) + bottom
    plot_left, plot_right = LABEL_WIDTH, WIDTH - VALUE_WIDTH
    span = high - low or Decimal(1)

    def x(value: Decimal) -> float:
        clipped = min(max(value, low), high)
        return float(plot_left + (clipped - low) / span * (plot_right - plot_left))

    font = max(6, min(11, row - 4))
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
        f'aria-label={quoteattr(title)} font-family="Sarabun" font-size="{font}">',
        f'<text x="0" y="14" font-size="12" font-weight="bold">{escape(title)}</text>',
    ]
    zero = x(Decimal(0))
    for index, bar in enumerate(bars):
        y = top + index * row
        out.append(
            f'<text x="{plot_left - 6}" y="{y + row * 0.72:.1f}" text-anchor="end">{escape(bar.label)}</text>'
        )
        if bar.value is not None:
            left, right = sorted((zero, x(bar.value)))
            out.append(
                f'<rect x="{left:.1f}" y="{y + 2}" width="{max(right - left, 1):.1f}" height="{row - 4}" '
                f'fill="{bar.colour}"/>'
            )
        out.append(f'<text x="{plot_right + 4}" y="{y + row * 0.72:.1f}">{escape(bar.text)}</text>')
    plot_bottom = top + row * len(bars)
    out.append(f'<line x1="{zero:.1f}" y1="{top - 4}" x2="{zero:.1f}" y2="{plot_bottom}" stroke="#333"/>')
    for index, threshold in enumerate(thresholds):
        tx = x(threshold.value)
        out.append(
            f'<line x1="{tx:.1f}" y1="{top - 4}" x2="{tx:.1f}" y2="{plot_bottom}" stroke="#555" '
            'stroke-dasharray="4 3"/>'
        )
        label = f"{threshold.grade} {threshold.value.normalize():f}{unit}"
        label_y = top - 7 - 9 * index
        out.append(
            f'<text x="{tx:.1f}" y="{label_y}" text-anchor="middle" font-size="9">{escape(label)}</text>'
        )
    out.append(f'<text x="{plot_left}" y="{height - 6}" font-size="9">{low.normalize():f}{unit}</text>')
    out.append(
        f'<text x="{plot_right}" y="{height - 6}" font-size="9" text-anchor="end">'
        f"{high.normalize():f}{unit}</text>"
    )
    out.append("</svg>")
    return "".join(out)
