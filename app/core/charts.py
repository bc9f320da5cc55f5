"""Small server-side SVG charts for the admin dashboard: no JavaScript, no CDN.

Each chart is an accessible image: `role="img"` named by its <title> and described by a <desc>
that points to the table of the same numbers (every chart on the dashboard has one, and a CSV),
axis labels as text, and a <title> tooltip on every bar with its exact value. Text is escaped
(book titles are data); numbers only decide the geometry, so Decimal money stays exact in the
labels (`fmt`) and the tables.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from decimal import Decimal

from markupsafe import Markup, escape

Number = int | float | Decimal
WIDTH = 520
BAR_COLOUR = "#2f6f9f"
AXIS_COLOUR = "#6b7280"
GRID_COLOUR = "#e5e7eb"
# Text is FONT_SIZE units in a WIDTH-unit drawing, and the stylesheet never draws a chart
# narrower than MIN_WIDTH_PX (svg.chart's min-width; its box scrolls instead): the smallest
# text on screen is FONT_SIZE * MIN_WIDTH_PX / WIDTH = 11 px (issue 22: it was ~7 px).
FONT_SIZE = 13
MIN_WIDTH_PX = 440


def nice_ticks(maximum: float, count: int = 4) -> list[float]:
    """Round tick values from 0 to at least `maximum` (0, 5, 10, 15...; 0, 250, 500...)."""
    if maximum <= 0:
        return [0.0, 1.0]
    raw = maximum / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    ticks = [0.0]
    while ticks[-1] < maximum:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def _tick_text(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    if value >= 10_000:
        return f"{value / 1000:g}k"
    return f"{value:g}"


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _frame(chart_id: str, title: str, description: str, width: int, height: int,
           body: list[str]) -> Markup:
    cid = escape(chart_id)
    return Markup(
        f'<div class="chart-scroll" role="region" tabindex="0" aria-label="{escape(title)}">'
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{cid}" '
        f'viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMinYMin meet" '
        f'role="img" aria-labelledby="{cid}-title {cid}-desc" font-size="{FONT_SIZE}" '
        f'font-family="system-ui, sans-serif">'
        f'<title id="{cid}-title">{escape(title)}</title>'
        f'<desc id="{cid}-desc">{escape(description)}</desc>'
        + "".join(body) + "</svg></div>"
    )


def bar_chart(chart_id: str, title: str, items: Sequence[tuple[str, Number]], *,
              value_label: str, category_label: str, description: str,
              fmt: Callable[[Number], str] = str, empty_text: str = "") -> Markup:
    """Horizontal bars, one per (label, value), in the order given (e.g. top sellers)."""
    left, right, top, row = 180, 20, 28, 26
    plot_w = WIDTH - left - right
    height = top + max(len(items), 1) * row + 48
    body: list[str] = []
    if not items:
        body.append(f'<text x="{WIDTH / 2}" y="{top + row / 2}" text-anchor="middle" '
                    f'fill="{AXIS_COLOUR}">{escape(empty_text)}</text>')
        return _frame(chart_id, title, description, WIDTH, height, body)
    ticks = nice_ticks(max(float(v) for _, v in items))
    scale = plot_w / ticks[-1]
    bottom = top + len(items) * row
    for tick in ticks:
        x = left + tick * scale
        body.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{bottom}" '
                    f'stroke="{GRID_COLOUR}"/>'
                    f'<text x="{x:.1f}" y="{bottom + 16}" text-anchor="middle" '
                    f'fill="{AXIS_COLOUR}">{_tick_text(tick)}</text>')
    for i, (label, value) in enumerate(items):
        y = top + i * row
        w = max(float(value) * scale, 0.0)
        tip = escape(f"{label}: {fmt(value)}")
        body.append(
            f'<text x="{left - 8}" y="{y + row / 2 + 4:.1f}" text-anchor="end" '
            f'fill="currentColor">{escape(_short(label, 24))}</text>'
            f'<rect x="{left}" y="{y + 4}" width="{w:.1f}" height="{row - 8}" '
            f'fill="{BAR_COLOUR}"><title>{tip}</title></rect>'
        )
    body.append(f'<line x1="{left}" y1="{top - 4}" x2="{left}" y2="{bottom}" '
                f'stroke="{AXIS_COLOUR}"/>')
    body.append(f'<text x="{left + plot_w / 2:.1f}" y="{bottom + 38}" text-anchor="middle" '
                f'fill="currentColor" class="axis-label">{escape(value_label)}</text>')
    body.append(f'<text x="12" y="{top + (bottom - top) / 2:.1f}" text-anchor="middle" '
                f'transform="rotate(-90 12 {top + (bottom - top) / 2:.1f})" '
                f'fill="currentColor" class="axis-label">{escape(category_label)}</text>')
    return _frame(chart_id, title, description, WIDTH, height, body)


def column_chart(chart_id: str, title: str, items: Sequence[tuple[str, Number]], *,
                 value_label: str, category_label: str, description: str,
                 fmt: Callable[[Number], str] = str, label_every: int = 1) -> Markup:
    """Vertical columns over time, one per (label, value) from left to right (e.g. days)."""
    left, right, top, bottom_pad, height = 60, 12, 16, 60, 250
    plot_w = WIDTH - left - right
    bottom = height - bottom_pad
    plot_h = bottom - top
    ticks = nice_ticks(max((float(v) for _, v in items), default=0.0))
    scale = plot_h / ticks[-1]
    body: list[str] = []
    for tick in ticks:
        y = bottom - tick * scale
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{WIDTH - right}" y2="{y:.1f}" '
                    f'stroke="{GRID_COLOUR}"/>'
                    f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" '
                    f'fill="{AXIS_COLOUR}">{_tick_text(tick)}</text>')
    slot = plot_w / max(len(items), 1)
    for i, (label, value) in enumerate(items):
        h = max(float(value) * scale, 0.0)
        x = left + i * slot
        tip = escape(f"{label}: {fmt(value)}")
        body.append(f'<rect x="{x + slot * 0.15:.1f}" y="{bottom - h:.1f}" '
                    f'width="{slot * 0.7:.1f}" height="{h:.1f}" fill="{BAR_COLOUR}">'
                    f'<title>{tip}</title></rect>')
        if i % label_every == 0:
            cx = x + slot / 2
            body.append(f'<text x="{cx:.1f}" y="{bottom + 14}" text-anchor="middle" '
                        f'fill="{AXIS_COLOUR}">{escape(label)}</text>')
    body.append(f'<line x1="{left}" y1="{bottom}" x2="{WIDTH - right}" y2="{bottom}" '
                f'stroke="{AXIS_COLOUR}"/>')
    body.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 20}" text-anchor="middle" '
                f'fill="currentColor" class="axis-label">{escape(category_label)}</text>')
    body.append(f'<text x="14" y="{top + plot_h / 2:.1f}" text-anchor="middle" '
                f'transform="rotate(-90 14 {top + plot_h / 2:.1f})" fill="currentColor" '
                f'class="axis-label">{escape(value_label)}</text>')
    return _frame(chart_id, title, description, WIDTH, height, body)


def line_chart(chart_id: str, title: str, items: Sequence[tuple[str, Number | None]], *,
               value_label: str, category_label: str, description: str,
               fmt: Callable[[Number], str] = str, low: float | None = None,
               high: float | None = None, label_every: int = 1, suffix: str = "",
               empty_text: str = "") -> Markup:
    """A line over time, one point per (label, value) from left to right; a None value is a
    gap (a month without answers). The axis runs from `low` to `high` when given (NPS: -100
    to 100), else from 0 (or the lowest value) to nice ticks above the highest."""
    left, right, top, bottom_pad, height = 60, 16, 16, 60, 250
    plot_w = WIDTH - left - right
    bottom = height - bottom_pad
    plot_h = bottom - top
    values = [float(v) for _, v in items if v is not None]
    body: list[str] = []
    if not values:
        body.append(f'<text x="{WIDTH / 2}" y="{top + plot_h / 2}" text-anchor="middle" '
                    f'fill="{AXIS_COLOUR}">{escape(empty_text)}</text>')
        return _frame(chart_id, title, description, WIDTH, height, body)
    lo = low if low is not None else min(0.0, min(values))
    hi = high if high is not None else nice_ticks(max(values))[-1]
    if hi <= lo:
        hi = lo + 1
    span = hi - lo
    step = span / 4
    ticks = [lo + step * i for i in range(5)]

    def y_of(value: float) -> float:
        return bottom - (value - lo) / span * plot_h

    for tick in ticks:
        y = y_of(tick)
        text = _tick_text(tick) if tick >= 0 else "−" + _tick_text(-tick)
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{WIDTH - right}" y2="{y:.1f}" '
                    f'stroke="{AXIS_COLOUR if tick == 0 else GRID_COLOUR}"/>'
                    f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" '
                    f'fill="{AXIS_COLOUR}">{text}{escape(suffix)}</text>')
    slot = plot_w / max(len(items), 1)
    segment: list[str] = []
    paths: list[list[str]] = []
    for i, (label, value) in enumerate(items):
        cx = left + i * slot + slot / 2
        if value is None:
            if segment:
                paths.append(segment)
            segment = []
        else:
            cy = y_of(float(value))
            segment.append(f"{cx:.1f},{cy:.1f}")
            tip = escape(f"{label}: {fmt(value)}")
            body.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="4" fill="{BAR_COLOUR}">'
                        f'<title>{tip}</title></circle>')
        if i % label_every == 0:
            body.append(f'<text x="{cx:.1f}" y="{bottom + 16}" text-anchor="middle" '
                        f'fill="{AXIS_COLOUR}">{escape(label)}</text>')
    if segment:
        paths.append(segment)
    for points in paths:
        if len(points) > 1:
            body.insert(0, f'<polyline points="{" ".join(points)}" fill="none" '
                           f'stroke="{BAR_COLOUR}" stroke-width="2"/>')
    body.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 20}" text-anchor="middle" '
                f'fill="currentColor" class="axis-label">{escape(category_label)}</text>')
    body.append(f'<text x="14" y="{top + plot_h / 2:.1f}" text-anchor="middle" '
                f'transform="rotate(-90 14 {top + plot_h / 2:.1f})" fill="currentColor" '
                f'class="axis-label">{escape(value_label)}</text>')
    return _frame(chart_id, title, description, WIDTH, height, body)
