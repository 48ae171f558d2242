"""Human text for a plan: how to take a dose with real tablets, each step, and the pace."""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

from app.taper.model import Administration, Form, PaceSummary, Piece, Step, StepKind

_NOUN = {
    Form.TABLET: ("tablet", "tablets"),
    Form.ODT: ("orally disintegrating tablet", "orally disintegrating tablets"),
    Form.ER_TABLET: ("extended-release tablet", "extended-release tablets"),
    Form.ER_CAPSULE: ("extended-release capsule", "extended-release capsules"),
    Form.CAPSULE: ("capsule", "capsules"),
    Form.FILM: ("oral film", "oral films"),
    Form.SL_TABLET: ("sublingual tablet", "sublingual tablets"),
}
_GLYPH = {Fraction(1, 4): "¼", Fraction(1, 2): "½", Fraction(3, 4): "¾"}
_WHEN = {
    "morning": "in the morning",
    "noon": "at noon",
    "midday": "at midday",
    "afternoon": "in the afternoon",
    "evening": "in the evening",
    "bedtime": "at bedtime",
    "night": "at night",
}


def mg(value: Fraction | float) -> str:
    """0.125 -> '0.125', 2.0 -> '2', 1.875 -> '1.875' (no binary noise)."""
    text = f"{float(value):.4f}".rstrip("0").rstrip(".")
    return text or "0"


def noun(form: Form, count: int = 1) -> str:
    """'tablet', 'orally disintegrating tablets': how labels and orders name the form."""
    one, many = _NOUN[form]
    return one if count == 1 else many


def amount(count: Fraction) -> str:
    whole, part = divmod(count, 1)
    glyph = _GLYPH.get(part, "" if part == 0 else f"+{mg(part)}")
    return f"{int(whole) if whole else ''}{glyph}" or "0"


def when_text(when: str | None) -> str:
    if when is None:
        return "a day"
    key = when.strip().lower()
    return _WHEN.get(key, key if key.startswith(("at ", "in ", "with ")) else f"at {key}")


def pieces_text(pieces: Sequence[tuple[Piece, int]], form: Form) -> str:
    """'1 tablet of 0.5 mg + ½ of a 0.25 mg tablet'."""
    one, many = _NOUN[form]
    by_strength: dict[Fraction, Fraction] = {}
    for piece, pieces_taken in pieces:
        by_strength[piece.strength_mg] = by_strength.get(piece.strength_mg, Fraction(0)) + Fraction(
            pieces_taken, piece.parts
        )
    parts = []
    for strength, count in sorted(by_strength.items(), reverse=True):
        if count < 1:
            parts.append(f"{amount(count)} of a {mg(strength)} mg {one}")
        else:
            noun = one if count == 1 else many
            parts.append(f"{amount(count)} {noun} of {mg(strength)} mg")
    return " + ".join(parts)


def how_text(how: Sequence[Administration], form: Form | None) -> str:
    """'½ of a 0.5 mg tablet in the morning, 1 tablet of 0.5 mg at bedtime'."""
    if form is None or not how:
        return ""
    return ", ".join(f"{pieces_text(a.pieces, form)} {when_text(a.when)}" for a in how)


def step_text(step: Step, day: str) -> str:
    """One line per step, as the card and the CarePlan show it."""
    if step.kind is StepKind.STOP:
        return (
            f"{day}: stop {step.ingredient} after {step.held_days // 7} weeks on "
            f"{mg(step.previous_mg)} mg/day"
        )
    how = how_text(step.how, step.form)
    dose = f"{mg(step.dose_mg)} mg/day of {step.ingredient}"
    if step.kind is StepKind.SWITCH:
        return f"{day}: switch to {dose}" + (f": {how}" if how else "")
    pct = mg(round(step.reduction * 100, 1))
    return f"{day}: {dose} (-{pct}%)" + (f": {how}" if how else "")


def _weeks(values: Sequence[int]) -> str:
    low, high = min(values), max(values)
    return f"{low} weeks" if low == high else f"{low}-{high} weeks"


def pace_text(summary: PaceSummary) -> str:
    """The pace exactly as computed, e.g. 'about 10% of the starting dose every 2 weeks, ...'."""
    cap = "never more than 25% of the current dose in 2 weeks"
    if summary.regular_steps and summary.fraction_of_start is not None:
        share = summary.fraction_of_start * 100
        if summary.uniform and (share * 10).denominator == 1:
            amount_text = f"{mg(share)}%"  # every step the same, shown exactly
        else:
            amount_text = f"about {mg(math.floor(share + Fraction(1, 2)))}%"
        head = f"{amount_text} of the starting dose every {summary.every_weeks} weeks, {cap}"
    else:
        head = f"one dispensable unit at a time, {cap}"
    if summary.slow_steps and summary.regular_steps:
        steps = "step" if summary.slow_steps == 1 else f"{summary.slow_steps} steps"
        head += f"; the last {steps} every {_weeks(summary.slow_weeks)}"
    elif summary.slow_steps:
        head += f"; steps every {_weeks(summary.slow_weeks)}"
    return head
