"""Charts drawn on the server as inline SVG: no script, no CDN, readable by screen readers.

Each chart has a ``<title>`` and ``<desc>`` and is labelled by them; pages put
the same numbers in a table beside it.  Colours come from the Okabe-Ito
palette, which stays distinguishable with the common colour-vision
deficiencies, and every series is also named in the legend.  Only SVG
presentation attributes are used, so the strict Content-Security-Policy
(no inline styles) holds.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

from markupsafe import Markup, escape

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000")
WIDTH, HEIGHT = 720, 300
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 36, 56
FONT = 'font-family="system-ui, sans-serif"'

Series = tuple[str, Sequence[float]]


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 or 10 times a power of ten that is at least ``value``."""
    if value <= 0:
        return 1.0
    power = math.pow(10, math.floor(math.log10(value)))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def _number(value: float, percent: bool) -> str:
    if percent:
        return f"{value * 100:.0f}%" if value * 100 >= 10 or value == 0 else f"{value * 100:.1f}%"
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if value >= 10_000:
        return f"{value / 1_000:.0f}k"
    return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"


def _chart_id(title: str, labels: Sequence[str]) -> str:
    digest = hashlib.sha256((title + "|" + "|".join(labels)).encode()).hexdigest()[:8]
    return f"chart-{digest}"


def _frame(chart_id: str, title: str, description: str, body: list[str]) -> Markup:
    head = (
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="100%" role="img" aria-labelledby="{chart_id}-t {chart_id}-d" {FONT}>'
        f'<title id="{chart_id}-t">{escape(title)}</title>'
        f'<desc id="{chart_id}-d">{escape(description)}</desc>'
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>'
    )
    return Markup(head + "".join(body) + "</svg>")  # noqa: S704 - every piece is escaped above


def _axes(top: float, percent: bool) -> list[str]:
    plot_h = HEIGHT - TOP - BOTTOM
    parts = []
    for i in range(5):
        value = top * i / 4
        y = TOP + plot_h - plot_h * i / 4
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#dddddd" stroke-width="1"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="#444444">{escape(_number(value, percent))}</text>'
        )
    return parts


def _x_labels(labels: Sequence[str], centres: Sequence[float]) -> list[str]:
    every = max(1, math.ceil(len(labels) / 8))
    return [
        f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" font-size="11" '
        f'fill="#444444">{escape(text)}</text>'
        for i, (text, x) in enumerate(zip(labels, centres, strict=True))
        if i % every == 0
    ]


def _legend(series: Sequence[Series]) -> list[str]:
    parts = []
    x = LEFT
    for i, (name, _values) in enumerate(series):
        colour = PALETTE[i % len(PALETTE)]
        parts.append(
            f'<rect x="{x}" y="{HEIGHT - 22}" width="12" height="12" fill="{colour}"/>'
            f'<text x="{x + 16}" y="{HEIGHT - 12}" font-size="12" fill="#222222">'
            f"{escape(name)}</text>"
        )
        x += 28 + 7 * len(name)
    return parts


def _empty(chart_id: str, title: str, description: str) -> Markup:
    return _frame(
        chart_id,
        title,
        description,
        [
            f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" font-size="14" '
            f'fill="#666666">No data yet</text>'
        ],
    )


def line_chart(
    title: str,
    description: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    percent: bool = False,
) -> Markup:
    """A line per series over ``labels`` (dates, usually)."""
    chart_id = _chart_id(title, labels)
    peak = max((v for _n, values in series for v in values), default=0)
    if not labels or peak <= 0:
        return _empty(chart_id, title, description)
    top = 1.0 if percent and peak <= 1 else nice_ceiling(peak)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(labels) - 1, 1)
    xs = [LEFT + i * step for i in range(len(labels))]
    body = _axes(top, percent) + _x_labels(labels, xs)
    for i, (name, values) in enumerate(series):
        colour = PALETTE[i % len(PALETTE)]
        points = " ".join(
            f"{x:.1f},{TOP + plot_h - plot_h * v / top:.1f}"
            for x, v in zip(xs, values, strict=True)
        )
        body.append(
            f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2.5">'
            f"<title>{escape(name)}</title></polyline>"
        )
        if len(labels) <= 40:
            body.extend(
                f'<circle cx="{x:.1f}" cy="{TOP + plot_h - plot_h * v / top:.1f}" r="3" '
                f'fill="{colour}"><title>{escape(f"{name}, {lab}: {_number(v, percent)}")}'
                f"</title></circle>"
                for x, v, lab in zip(xs, values, labels, strict=True)
            )
    return _frame(chart_id, title, description, body + _legend(series))


def bar_chart(
    title: str,
    description: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    percent: bool = False,
) -> Markup:
    """Bars grouped by label, one bar per series."""
    chart_id = _chart_id(title, labels)
    peak = max((v for _n, values in series for v in values), default=0)
    if not labels or not series or peak <= 0:
        return _empty(chart_id, title, description)
    top = 1.0 if percent and peak <= 1 else nice_ceiling(peak)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    group = plot_w / len(labels)
    bar = group * 0.8 / len(series)
    centres = [LEFT + group * (i + 0.5) for i in range(len(labels))]
    body = _axes(top, percent) + _x_labels(labels, centres)
    for s, (name, values) in enumerate(series):
        colour = PALETTE[s % len(PALETTE)]
        for i, value in enumerate(values):
            height = plot_h * value / top
            x = LEFT + group * i + group * 0.1 + bar * s
            body.append(
                f'<rect x="{x:.1f}" y="{TOP + plot_h - height:.1f}" width="{bar:.1f}" '
                f'height="{height:.1f}" fill="{colour}">'
                f"<title>{escape(f'{name}, {labels[i]}: {_number(value, percent)}')}</title></rect>"
            )
            if len(labels) * len(series) <= 24:
                body.append(
                    f'<text x="{x + bar / 2:.1f}" y="{TOP + plot_h - height - 4:.1f}" '
                    f'text-anchor="middle" font-size="11" fill="#222222">'
                    f"{escape(_number(value, percent))}</text>"
                )
    return _frame(chart_id, title, description, body + _legend(series))
