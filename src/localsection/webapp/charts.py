"""Bar charts as inline SVG, drawn on the server (no JavaScript, no library): horizontal bars with their labels
and values written next to them, a <title> and <desc> for assistive technology, and the same numbers in a table
beside every chart on the page."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 640
ROW = 28
LABEL_W = 200
VALUE_W = 90
MAX_BARS = 40  # the rest is in the table
MAX_LABEL = 28  # characters of a label drawn in the chart (the table has the whole name)


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    shown: str  # the value as the table writes it


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"


def bar_chart(chart_id: str, title: str, description: str, bars: list[Bar]) -> Markup:
    """An accessible horizontal bar chart (`role="img"`, labelled by its title and description)."""
    bars = bars[:MAX_BARS]
    height = max(1, len(bars)) * ROW + 8
    top = max((b.value for b in bars), default=0.0)
    span = WIDTH - LABEL_W - VALUE_W - 10
    parts = [f'<svg class="chart" id="{escape(chart_id)}" role="img" viewBox="0 0 {WIDTH} {height}" '
             f'aria-labelledby="{escape(chart_id)}-t {escape(chart_id)}-d" xmlns="http://www.w3.org/2000/svg">',
             f'<title id="{escape(chart_id)}-t">{escape(title)}</title>',
             f'<desc id="{escape(chart_id)}-d">{escape(description)}</desc>']
    for i, bar in enumerate(bars):
        y = 4 + i * ROW
        w = 0.0 if top <= 0 else max(1.0, span * bar.value / top) if bar.value > 0 else 0.0
        parts.append(f'<text class="label" x="{LABEL_W - 8}" y="{y + 18}" text-anchor="end">'
                     f'{escape(_short(bar.label))}</text>')
        parts.append(f'<rect class="bar" x="{LABEL_W}" y="{y + 4}" width="{w:.1f}" height="{ROW - 10}" rx="3"/>')
        parts.append(f'<text class="value" x="{LABEL_W + w + 6:.1f}" y="{y + 18}">{escape(bar.shown)}</text>')
    parts.append(f'<line class="axis" x1="{LABEL_W}" y1="0" x2="{LABEL_W}" y2="{height}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))
