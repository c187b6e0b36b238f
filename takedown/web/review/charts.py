"""Charts as inline SVG, drawn on the server: no JavaScript, nothing from other servers, and
nothing the Content-Security-Policy would block (presentation attributes, no style attributes).

Each chart carries a <title> and <desc> for screen readers; the pages also show the figures as
a table, which is the accessible version of record.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# The palette of app.css, each at least 4.5:1 against white.
ACCENT = "#1f4fa3"
OK = "#1c6b35"
WARN = "#8a5300"
INK = "#1d2330"
MUTED = "#4f5868"
LINE = "#d5dae3"
FONT = 'font-family="system-ui, sans-serif"'


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]
    colour: str


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten that is >= value (axis maximum)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power  # pragma: no cover - the loop ends at 10 * power >= value


def _number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def _svg(
    width: int, height: int, title: str, desc: str, body: list[str], *, fluid: bool = True
) -> SafeString:
    size = 'width="100%"' if fluid else f'width="{width}" height="{height}"'
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {width} {height}" {size} preserveAspectRatio="xMinYMin meet" '
        f'aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>"
    )
    return mark_safe(head + "".join(body) + "</svg>")  # noqa: S308 - every text is escaped


def column_chart(
    labels: Sequence[str],
    bars: Sequence[Series],
    *,
    title: str,
    line: Series | None = None,
    unit: str = "",
    width: int = 760,
    height: int = 280,
) -> SafeString:
    """Grouped columns of counts per label (e.g. links found and removed per week), with an
    optional line (e.g. still online at each week's end) on the same scale; `unit` names what
    the axis counts, above it."""
    left, right, top, bottom = 44, 12, 30, 42
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for s in bars for v in s.values] + (list(line.values) if line else [])
    # Four gridline steps of a round size, so the axis reads 0, 2, 4, 6, 8 and not 0, 1.2, 2.5;
    # at least 1 each, since these are counts.
    ceiling = 4 * max(nice_ceiling(max(values, default=0) / 4), 1)
    groups = max(len(labels), 1)
    slot = plot_w / groups
    bar_w = slot * 0.8 / max(len(bars), 1)

    def y(value: float) -> float:
        return top + plot_h - (value / ceiling) * plot_h

    body = []
    for i in range(5):  # gridlines and axis figures at 0, 1/4 ... 4/4
        tick = ceiling * i / 4
        ty = y(tick)
        body.append(
            f'<line x1="{left}" y1="{ty:.1f}" x2="{width - right}" y2="{ty:.1f}" '
            f'stroke="{LINE}" stroke-width="1"/>'
            f'<text x="{left - 6}" y="{ty + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="{MUTED}" {FONT}>{_number(tick)}</text>'
        )
    for g, label in enumerate(labels):
        x0 = left + g * slot + slot * 0.1
        for b, series in enumerate(bars):
            value = series.values[g]
            bx, by = x0 + b * bar_w, y(value)
            body.append(
                f'<rect x="{bx:.1f}" y="{by:.1f}" width="{max(bar_w - 1, 1):.1f}" '
                f'height="{top + plot_h - by:.1f}" fill="{series.colour}">'
                f"<title>{escape(label)}: {escape(series.name)} {_number(value)}</title></rect>"
            )
        # Every label when they fit, else every other one: week labels must stay readable.
        if groups <= 16 or g % 2 == 0:
            body.append(
                f'<text x="{left + g * slot + slot / 2:.1f}" y="{height - bottom + 16}" '
                f'text-anchor="middle" font-size="11" fill="{MUTED}" {FONT}>'
                f"{escape(label)}</text>"
            )
    if line is not None and line.values:
        points = " ".join(
            f"{left + g * slot + slot / 2:.1f},{y(v):.1f}" for g, v in enumerate(line.values)
        )
        body.append(
            f'<polyline points="{points}" fill="none" stroke="{line.colour}" stroke-width="2.5"/>'
        )
        for g, v in enumerate(line.values):
            body.append(
                f'<circle cx="{left + g * slot + slot / 2:.1f}" cy="{y(v):.1f}" r="3" '
                f'fill="{line.colour}"><title>{escape(labels[g])}: {escape(line.name)} '
                f"{_number(v)}</title></circle>"
            )
    body.append(_legend([*bars, *([line] if line else [])], x=left, y=16))
    if unit:
        body.append(
            f'<text x="{width - right}" y="16" text-anchor="end" font-size="12" '
            f'fill="{MUTED}" {FONT}>{escape(unit)}</text>'
        )
    desc = (f"{unit}. " if unit else "") + "; ".join(
        f"{label}: "
        + ", ".join(f"{s.name} {_number(s.values[g])}" for s in [*bars, *([line] if line else [])])
        for g, label in enumerate(labels)
    )
    return _svg(width, height, title, desc, body)


def _legend(series: Sequence[Series], *, x: int, y: int) -> str:
    parts, offset = [], x
    for s in series:
        parts.append(
            f'<rect x="{offset}" y="{y - 9}" width="10" height="10" fill="{s.colour}"/>'
            f'<text x="{offset + 14}" y="{y}" font-size="12" fill="{INK}" {FONT}>'
            f"{escape(s.name)}</text>"
        )
        offset += 24 + 7 * len(s.name)
    return "".join(parts)


def bar_chart(
    rows: Sequence[tuple[str, float, str]],
    *,
    title: str,
    colour: str = ACCENT,
    unit: str = "",
    width: int = 760,
    label_width: int = 220,
) -> SafeString:
    """Horizontal bars, one per (label, value, value as text) row, e.g. median days to removal
    per recipient; `unit` says what the bars measure, above them. Long labels are shortened;
    the full one is in the bar's tooltip."""
    row_h = 24
    top = 26 if unit else 8
    height = top + 8 + row_h * max(len(rows), 1)
    plot_w = width - label_width - 90
    ceiling = nice_ceiling(max((value for _label, value, _text in rows), default=0))
    body = []
    for i, (label, value, text) in enumerate(rows):
        ty = top + i * row_h
        short = label if len(label) <= 32 else label[:31] + "…"
        bar = max(plot_w * value / ceiling, 1.0)
        body.append(
            f'<text x="{label_width - 8}" y="{ty + 16}" text-anchor="end" font-size="12" '
            f'fill="{INK}" {FONT}>{escape(short)}</text>'
            f'<rect x="{label_width}" y="{ty + 4}" width="{bar:.1f}" height="{row_h - 8}" '
            f'fill="{colour}"><title>{escape(label)}: {escape(text)}</title></rect>'
            f'<text x="{label_width + bar + 6:.1f}" y="{ty + 16}" font-size="12" '
            f'fill="{INK}" {FONT}>{escape(text)}</text>'
        )
    if unit:
        body.append(
            f'<text x="{label_width}" y="14" font-size="12" fill="{MUTED}" {FONT}>'
            f"{escape(unit)}</text>"
        )
    desc = "; ".join(f"{label}: {text}" for label, _value, text in rows) or "no data"
    if unit:
        desc = f"{unit}. {desc}"
    return _svg(width, height, title, desc, body)


def share_bar(
    shares: Sequence[tuple[float, str, str, int]], *, total: int, width: int = 120
) -> SafeString:
    """One stacked bar of shares (fraction, colour, name, count) of `total` that add up to at
    most 1; every part is named with its count and its share ("complied 3 of 4, 75%")."""
    body, x = [], 0.0
    for fraction, colour, name, count in shares:
        w = width * fraction
        if w > 0:
            body.append(
                f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="12" fill="{colour}">'
                f"<title>{escape(name)} {count} / {total}, {fraction:.0%}</title></rect>"
            )
        x += w
    body.insert(0, f'<rect x="0" y="0" width="{width}" height="12" fill="{LINE}"/>')
    desc = ", ".join(
        f"{name} {count} / {total}, {fraction:.0%}" for fraction, _colour, name, count in shares
    )
    return _svg(width, 12, desc, desc, body, fluid=False)
