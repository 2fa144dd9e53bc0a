"""The brief's charts as inline SVG, drawn from the results: no browser, no JavaScript.

Pure: results in, SVG text out. Each chart colours its bars by what it shows, and says so in a legend:
the growth chart by the level the sales criterion reaches, the products chart by the level the products
criterion reaches; the overall grade is the table's. A province of more than `SUMMARY_FROM` districts
would make bars too thin to read, so its brief draws summaries instead: how many districts reach each
level of each criterion, and the ten highest and ten lowest growths.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from xml.sax.saxutils import escape, quoteattr

from otop_sync.grading import DistrictResult
from otop_sync.rules import Grade

GRADE_COLOURS = {"A": "#3a9d5d", "B": "#4a7fc1", "C": "#e0a526", "D": "#d0494b"}
NO_GRADE_COLOUR = "#9e9e9e"
NO_LEVEL = "ไม่มีข้อมูล"
WIDTH = 680
LABEL_WIDTH = 130
VALUE_WIDTH = 62
GROWTH_AXIS_LIMITS = (Decimal(-50), Decimal(100))
SUMMARY_FROM = 41  # districts; up to 40 bars still read at 14 px a row on half a page
EXTREMES = 10  # highest and lowest growths drawn in a summary


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


Digits = Callable[[str], str]  # a text in the brief's digits (numerals.Numerals)


def growth_chart(
    results: Sequence[DistrictResult], thresholds: Sequence[Threshold], digits: Digits, *, title: str = ""
) -> str:
    bars = [
        _Bar(
            r.district.name,
            r.growth_pct,
            f"{r.growth_pct:+.2f}" if r.growth_pct is not None else NO_LEVEL,
            _colour(r.growth_level),
        )
        for r in results
    ]
    values = [b.value for b in bars if b.value is not None] + [t.value for t in thresholds] + [Decimal(0)]
    # Whole percents at the ends of the axis; beyond -50 % or +100 % a bar is cut at the edge.
    low = max(min(min(values), Decimal(-5)).to_integral_value(ROUND_FLOOR), GROWTH_AXIS_LIMITS[0])
    top = max(max(values), max((t.value for t in thresholds), default=Decimal(5)) + 3)
    high = min(top.to_integral_value(ROUND_CEILING), GROWTH_AXIS_LIMITS[1])
    return _bar_chart(
        title or "อัตราเพิ่มของยอดจำหน่าย (ร้อยละ) เทียบไตรมาสเดียวกันของปีฐาน",
        "สีของแท่ง: ระดับที่ได้ด้านยอดจำหน่าย",
        bars,
        thresholds,
        low,
        high,
        digits,
    )


def products_chart(results: Sequence[DistrictResult], thresholds: Sequence[Threshold], digits: Digits) -> str:
    bars = [
        _Bar(
            r.district.name,
            Decimal(r.report.new_products) if r.report else None,
            str(r.report.new_products) if r.report else "ยังไม่รายงาน",
            _colour(r.products_level),
        )
        for r in results
    ]
    top = max(
        [b.value for b in bars if b.value is not None] + [t.value + 1 for t in thresholds] + [Decimal(4)]
    )
    return _bar_chart(
        "ผลิตภัณฑ์ที่ลงทะเบียนเพิ่มในไตรมาส (ผลิตภัณฑ์)",
        "สีของแท่ง: ระดับที่ได้ด้านผลิตภัณฑ์",
        bars,
        thresholds,
        Decimal(0),
        top,
        digits,
    )


def extremes_chart(results: Sequence[DistrictResult], thresholds: Sequence[Threshold], digits: Digits) -> str:
    """The `EXTREMES` highest and lowest growths, highest first: who leads and who needs help."""
    ranked = sorted(
        (r for r in results if r.growth_pct is not None),
        key=lambda r: (r.growth_pct, r.district.code),
        reverse=True,
    )
    shown = ranked if len(ranked) <= 2 * EXTREMES else ranked[:EXTREMES] + ranked[-EXTREMES:]
    count = digits(str(EXTREMES))
    return growth_chart(
        shown,
        thresholds,
        digits,
        title=f"อัตราเพิ่มของยอดจำหน่าย (ร้อยละ): สูงสุด {count} และต่ำสุด {count} อำเภอ",
    )


def levels_chart(results: Sequence[DistrictResult], digits: Digits) -> str:
    """How many districts reach each level: overall and per criterion, one stacked bar each."""
    rows = (
        ("ระดับรวม", Counter(r.grade for r in results)),
        ("ด้านผลิตภัณฑ์", Counter(r.products_level for r in results)),
        ("ด้านยอดจำหน่าย", Counter(r.growth_level for r in results)),
    )
    keys: list[Grade | None] = [*Grade, None]
    row, top = 26, 44
    height = top + row * len(rows) + 8
    plot_left, plot_right = LABEL_WIDTH, WIDTH - 8
    total = max(len(results), 1)
    out = [
        _svg_open("จำนวนอำเภอในแต่ละระดับ ภาพรวมและรายด้าน", height, 11),
        _legend([(_level_name(k), _colour(k)) for k in keys], y=28),
    ]
    for index, (label, counts) in enumerate(rows):
        y = top + index * row
        out.append(
            f'<text x="{plot_left - 6}" y="{y + row * 0.62:.1f}" text-anchor="end">{escape(label)}</text>'
        )
        left = float(plot_left)
        for key in keys:
            if not counts[key]:
                continue
            width = counts[key] / total * (plot_right - plot_left)
            out.append(
                f'<rect x="{left:.1f}" y="{y + 3}" width="{width:.1f}" height="{row - 6}" '
                f'fill="{_colour(key)}"/>'
            )
            if width >= 18:  # a count is written inside its segment when it fits
                out.append(
                    f'<text x="{left + width / 2:.1f}" y="{y + row * 0.62:.1f}" text-anchor="middle" '
                    f'fill="#fff" font-weight="bold">{escape(digits(str(counts[key])))}</text>'
                )
            left += width
    out.append("</svg>")
    return "".join(out)


def _level_name(level: Grade | None) -> str:
    return f"ระดับ {level.value}" if level else NO_LEVEL


def _colour(level: Grade | None) -> str:
    return GRADE_COLOURS[level.value] if level else NO_GRADE_COLOUR


def _svg_open(title: str, height: int, font: int) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
        f'aria-label={quoteattr(title)} font-family="Sarabun" font-size="{font}">'
        f'<text x="0" y="14" font-size="12" font-weight="bold">{escape(title)}</text>'
    )


def _legend(entries: Sequence[tuple[str, str]], *, y: int, caption: str = "") -> str:
    """A row of colour swatches with their names, after an optional caption."""
    out, x = [], 0.0
    if caption:
        out.append(f'<text x="0" y="{y}" font-size="9">{escape(caption)}</text>')
        x = 8 + 5.2 * len(caption)
    for name, colour in entries:
        out.append(f'<rect x="{x:.1f}" y="{y - 8}" width="9" height="9" fill="{colour}"/>')
        out.append(f'<text x="{x + 12:.1f}" y="{y}" font-size="9">{escape(name)}</text>')
        x += 24 + 5.2 * len(name)
    return "".join(out)


ZERO_BAR = 3  # points: the width a bar of 0 is drawn with


def _bar_chart(
    title: str,
    caption: str,
    bars: Sequence[_Bar],
    thresholds: Sequence[Threshold],
    low: Decimal,
    high: Decimal,
    digits: Digits,
) -> str:
    # Many districts make thinner rows, so that one chart still fits on a page.
    row = max(6, min(22, 320 // max(len(bars), 1) + 2))
    # The legend, then threshold labels on rows of their own, so that close thresholds never overlap.
    top, bottom = 44 + 9 * len(thresholds), 22
    height = top + row * len(bars) + bottom
    plot_left, plot_right = LABEL_WIDTH, WIDTH - VALUE_WIDTH
    span = high - low or Decimal(1)

    def x(value: Decimal) -> float:
        clipped = min(max(value, low), high)
        return float(plot_left + (clipped - low) / span * (plot_right - plot_left))

    levels: list[Grade | None] = [*Grade, None]
    out = [
        _svg_open(title, height, max(6, min(11, row - 4))),
        _legend([(_level_name(k), _colour(k)) for k in levels], y=30, caption=caption),
    ]
    zero = x(Decimal(0))
    for index, bar in enumerate(bars):
        y = top + index * row
        out.append(
            f'<text x="{plot_left - 6}" y="{y + row * 0.72:.1f}" text-anchor="end">{escape(bar.label)}</text>'
        )
        if bar.value is not None:
            left, right = sorted((zero, x(bar.value)))
            # A zero is a short stub, not nothing: a district with no new product shows its red bar.
            width = max(right - left, ZERO_BAR)
            out.append(
                f'<rect x="{left:.1f}" y="{y + 2}" width="{width:.1f}" height="{row - 4}" '
                f'fill="{bar.colour}"/>'
            )
        out.append(f'<text x="{plot_right + 4}" y="{y + row * 0.72:.1f}">{escape(digits(bar.text))}</text>')
    plot_bottom = top + row * len(bars)
    out.append(f'<line x1="{zero:.1f}" y1="{top - 4}" x2="{zero:.1f}" y2="{plot_bottom}" stroke="#333"/>')
    for index, threshold in enumerate(thresholds):
        tx = x(threshold.value)
        out.append(
            f'<line x1="{tx:.1f}" y1="{top - 4}" x2="{tx:.1f}" y2="{plot_bottom}" stroke="#555" '
            'stroke-dasharray="4 3"/>'
        )
        label = digits(f"เกณฑ์ {threshold.grade} {threshold.value.normalize():f}")
        label_y = top - 7 - 9 * index
        out.append(
            f'<text x="{tx:.1f}" y="{label_y}" text-anchor="middle" font-size="9">{escape(label)}</text>'
        )
    ends: list[tuple[Decimal, str, float]] = [(low, "start", plot_left), (high, "end", plot_right)]
    if low < 0 < high:  # the axis runs through 0: say where
        ends.append((Decimal(0), "middle", zero))
    for value, anchor, where in ends:
        out.append(
            f'<text x="{where:.1f}" y="{height - 6}" font-size="9" text-anchor="{anchor}">'
            f"{escape(digits(f'{value.normalize():f}'))}</text>"
        )
    out.append("</svg>")
    return "".join(out)
