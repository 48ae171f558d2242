"""Inline SVG charts for the dry-run report: no script, no external file, text escaped."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

PALETTE = ("#1b6ca8", "#d1495b", "#edae49", "#00798c", "#66a182", "#8e6c8a", "#4d4d4d")
_FONT = 'font-family="system-ui, sans-serif" font-size="12"'


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 or value == int(value) else f"{value:,.1f}"


def bar_chart(
    items: Sequence[tuple[str, float]], title: str, *, width: int = 640, label_width: int = 170
) -> str:
    """Horizontal bars, one per (label, value), the value printed at the end of each bar."""
    row, top = 22, 28
    height = top + row * max(1, len(items)) + 10
    peak = max((v for _, v in items), default=0) or 1
    span = width - label_width - 70
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" {_FONT}>',
        f"<title>{escape(title)}</title>",
        f'<text x="0" y="16" font-weight="bold">{escape(title)}</text>',
    ]
    for index, (label, value) in enumerate(items):
        y = top + index * row
        length = span * value / peak
        parts.append(
            f'<text x="{label_width - 6}" y="{y + 14}" text-anchor="end">{escape(label)}</text>'
        )
        parts.append(
            f'<rect x="{label_width}" y="{y + 3}" width="{length:.1f}" height="15" '
            f'fill="{PALETTE[0]}"><title>{escape(label)}: {_fmt(value)}</title></rect>'
        )
        parts.append(f'<text x="{label_width + length + 4:.1f}" y="{y + 14}">{_fmt(value)}</text>')
    if not items:
        parts.append(f'<text x="0" y="{top + 14}">nothing to show</text>')
    parts.append("</svg>")
    return "".join(parts)


def grouped_bars(
    groups: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    title: str,
    *,
    width: int = 760,
    height: int = 300,
) -> str:
    """Vertical bars: one cluster per group, one bar per series, with a legend."""
    left, bottom, top = 48, 40, 30
    legend = 18 * len(series)
    plot_h = height - top - bottom
    total_h = height + legend
    peak = max((v for _, values in series for v in values), default=0) or 1
    slot = (width - left - 10) / max(1, len(groups))
    bar = max(2.0, (slot - 10) / max(1, len(series)))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" '
        f'height="{total_h}" viewBox="0 0 {width} {total_h}" {_FONT}>',
        f"<title>{escape(title)}</title>",
        f'<text x="0" y="16" font-weight="bold">{escape(title)}</text>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" '
        'stroke="#999"/>',
        f'<text x="{left - 6}" y="{top + 4}" text-anchor="end">{_fmt(peak)}</text>',
        f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end">0</text>',
    ]
    for g, group in enumerate(groups):
        x0 = left + g * slot + 5
        parts.append(
            f'<text x="{x0 + (slot - 10) / 2:.1f}" y="{top + plot_h + 16}" '
            f'text-anchor="middle">{escape(group)}</text>'
        )
        for s, (name, values) in enumerate(series):
            value = values[g]
            h = plot_h * value / peak
            parts.append(
                f'<rect x="{x0 + s * bar:.1f}" y="{top + plot_h - h:.1f}" '
                f'width="{bar - 1:.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[s % len(PALETTE)]}"><title>{escape(name)}, '
                f"{escape(group)}: {_fmt(value)}</title></rect>"
            )
    for s, (name, _) in enumerate(series):
        y = height + s * 18
        parts.append(
            f'<rect x="{left}" y="{y - 10}" width="12" height="12" '
            f'fill="{PALETTE[s % len(PALETTE)]}"/>'
        )
        parts.append(f'<text x="{left + 18}" y="{y}">{escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)
