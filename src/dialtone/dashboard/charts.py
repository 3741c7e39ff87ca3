"""Charts drawn on the server as SVG: no script library, nothing from a CDN, and readable
without JavaScript. Each chart is a bar chart with a title and a text alternative (the
values, for screen readers: ``role="img"`` and ``aria-label``), and the page keeps the
numbers in a table too."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape

WIDTH = 320
HEIGHT = 140
_TOP = 10
_BOTTOM = 22
_LEFT = 34


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar: its label under the axis and its value."""

    label: str
    value: Decimal | int | float


def bar_chart(title: str, bars: Sequence[Bar], *, unit: str = "") -> str:
    """An SVG bar chart of ``bars`` (markup, already escaped)."""
    values = [float(bar.value) for bar in bars]
    top = max(values, default=0.0) or 1.0
    plot_w = WIDTH - _LEFT - 4
    plot_h = HEIGHT - _TOP - _BOTTOM
    step = plot_w / max(len(bars), 1)
    width = max(step * 0.7, 1.0)
    described = ", ".join(f"{bar.label}: {_short(bar.value)}{unit}" for bar in bars)
    parts = [
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}: {escape(described)}">',
        f"<title>{escape(title)}</title>",
        f'<line class="axis" x1="{_LEFT}" y1="{_TOP + plot_h}" x2="{WIDTH - 4}" '
        f'y2="{_TOP + plot_h}"/>',
        f'<text x="{_LEFT - 4}" y="{_TOP + 8}" text-anchor="end">{escape(_short(top))}</text>',
        f'<text x="{_LEFT - 4}" y="{_TOP + plot_h}" text-anchor="end">0</text>',
    ]
    every = max(1, len(bars) // 7)
    for index, (bar, value) in enumerate(zip(bars, values, strict=True)):
        h = plot_h * value / top
        x = _LEFT + index * step + (step - width) / 2
        y = _TOP + plot_h - h
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{h:.1f}">'
            f"<title>{escape(bar.label)}: {escape(_short(bar.value))}{escape(unit)}</title></rect>"
        )
        if index % every == 0:
            parts.append(
                f'<text x="{x + width / 2:.1f}" y="{HEIGHT - 6}" text-anchor="middle">'
                f"{escape(bar.label)}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)


def _short(value: Decimal | int | float) -> str:
    number = float(value)
    if number == int(number):
        return str(int(number))
    return f"{number:.1f}"
