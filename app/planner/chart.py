"""The dose-over-time chart: a server-drawn SVG step line, legible in print and in grey scale.

Meaning never rests on colour: one dark line, a marker and a label per step, dashed lines for
the follow-up visit; the chart has a text title and description for screen readers.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from fractions import Fraction
from html import escape

from app.planner.html import long_date
from app.taper import StepKind, TaperPlan, mg

WIDTH, HEIGHT = 720, 300
LEFT, RIGHT, TOP, BOTTOM = 64, 24, 28, 44
INK, GRID, MUTED = "#111111", "#c8c8c8", "#4a4a4a"
# Not clinical: how long the chart shows today's dose before the first step, and after the stop.
LEAD_DAYS, TAIL_DAYS = 14, 14
_NICE = (1, 2, 2.5, 5, 10)


def _ceiling(top: float) -> float:
    """A round axis maximum at or above ``top`` (1, 2, 2.5 or 5 times a power of ten)."""
    # Typed: int ** int is Any to mypy (a negative power is a float); the value is unchanged.
    power: float = 10 ** math.floor(math.log10(top))
    return next(n * power for n in _NICE if n * power >= top - 1e-9)


def _months(first: date, last: date) -> list[date]:
    out, when = [], date(first.year, first.month, 1)
    while when <= last:
        if when >= first:
            out.append(when)
        when = date(when.year + when.month // 12, when.month % 12 + 1, 1)
    return out


def _label(day: date) -> str:
    return f"{day:%b} {day.year}" if day.month == 1 else f"{day:%b}"


def dose_chart(
    plan: TaperPlan, follow_up: date | None, *, chart_id: str = "chart", compact: bool = False
) -> str:
    """An inline SVG of the daily dose from today to the stop, one marker per step."""
    steps = plan.steps
    switched = plan.switch is not None
    first_day = steps[0].starts - timedelta(days=0 if switched else LEAD_DAYS)
    last_day = steps[-1].starts + timedelta(days=TAIL_DAYS)
    top_mg = max([float(s.dose_mg) for s in steps] + ([] if switched else [float(plan.today_mg)]))
    y_max = _ceiling(top_mg)
    height = 250 if compact else HEIGHT
    fs = 15 if compact else 12  # the handout's chart prints narrower: larger type
    left = LEFT + (18 if compact else 0)
    span = max((last_day - first_day).days, 1)

    def x(day: date) -> float:
        return round(left + (WIDTH - left - RIGHT) * (day - first_day).days / span, 1)

    def y(dose: float | Fraction) -> float:
        return round(TOP + (height - TOP - BOTTOM) * (1 - float(dose) / y_max), 1)

    drug = plan.ingredient
    title = f"Daily dose of {drug}, {long_date(steps[0].starts)} to {long_date(steps[-1].starts)}"
    start_text = (
        f"switch to {mg(steps[0].dose_mg)} mg a day"
        if switched
        else f"from {mg(plan.today_mg)} mg a day"
    )
    desc = (
        f"The daily dose of {drug} goes down in {len(plan.reductions)} steps, "
        f"{start_text} on {long_date(steps[0].starts)} to none on "
        f"{long_date(steps[-1].starts)}."
    )
    parts = [
        f'<svg class="dose-chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" '
        f'xmlns="http://www.w3.org/2000/svg" font-family="inherit">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>',
        f'<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#ffffff"/>',
    ]
    for tick in range(5):
        value = y_max * tick / 4
        parts.append(
            f'<line x1="{left}" x2="{WIDTH - RIGHT}" y1="{y(value)}" y2="{y(value)}" '
            f'stroke="{GRID}" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{left - 8}" y="{y(value) + 4}" text-anchor="end" '
            f'font-size="{fs}" fill="{MUTED}">{mg(value)} mg</text>'
        )
    for month in _months(first_day, last_day):
        parts.append(
            f'<line x1="{x(month)}" x2="{x(month)}" y1="{height - BOTTOM}" '
            f'y2="{height - BOTTOM + 5}" stroke="{MUTED}"/>'
        )
        parts.append(
            f'<text x="{x(month)}" y="{height - BOTTOM + 19}" text-anchor="middle" '
            f'font-size="{fs}" fill="{MUTED}">{_label(month)}</text>'
        )
    parts.append(
        f'<line x1="{left}" x2="{WIDTH - RIGHT}" y1="{y(0)}" y2="{y(0)}" '
        f'stroke="{INK}" stroke-width="1.5"/>'
    )
    if follow_up is not None and first_day <= follow_up <= last_day:
        parts.append(
            f'<line class="follow-up" x1="{x(follow_up)}" x2="{x(follow_up)}" '
            f'y1="{TOP - 10}" y2="{y(0)}" stroke="{INK}" stroke-width="1.5" '
            f'stroke-dasharray="5 4"/>'
        )
        parts.append(
            f'<text x="{x(follow_up) + 5}" y="{TOP - 2}" font-size="{fs}" '
            f'fill="{INK}">Follow-up visit</text>'
        )
    path = [f"M{x(first_day)},{y(plan.today_mg if not switched else steps[0].dose_mg)}"]
    for step in steps:
        path.append(f"H{x(step.starts)}V{y(step.dose_mg)}")
    path.append(f"H{x(last_day)}")
    parts.append(
        f'<path class="dose-line" d="{"".join(path)}" fill="none" stroke="{INK}" '
        f'stroke-width="3" stroke-linejoin="round"/>'
    )
    for number, step in enumerate(steps):
        label = "stop" if step.kind is StepKind.STOP else mg(step.dose_mg)
        parts.append(
            f'<circle class="step" cx="{x(step.starts)}" cy="{y(step.dose_mg)}" r="4" '
            f'fill="#ffffff" stroke="{INK}" stroke-width="2" '
            f'data-date="{step.starts.isoformat()}" data-mg="{mg(step.dose_mg)}"/>'
        )
        if not compact or number % 2 == 0 or step.kind is StepKind.STOP:
            parts.append(
                f'<text x="{x(step.starts) + 4}" y="{y(step.dose_mg) - 8}" '
                f'font-size="{fs}" fill="{INK}">{label}</text>'
            )
    parts.append(
        f'<text x="{left}" y="14" font-size="{fs}" fill="{MUTED}">mg a day of {escape(drug)}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)
