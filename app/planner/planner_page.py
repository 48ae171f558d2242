"""The clinician's planner page: the form, the summary, the chart, the table and the CarePlan."""

from __future__ import annotations

import json
from fractions import Fraction
from typing import Any

from app.planner.chart import dose_chart
from app.planner.html import esc, href, long_date, page
from app.planner.query import (
    EXTRA_WEEKS_CHOICES,
    HOLD_WEEKS,
    PlannerQuery,
    forms_of,
    marketed_drugs,
    to_params,
)
from app.planner.schedule import PlannerResult, order_name
from app.taper import LIQUID, LONG_ACTING_TARGETS, Form, Pace, Step, StepKind, how_text, mg
from app.taper import products as taper_products
from app.taper.text import noun

PATH = "/taper-planner"
PACE_TEXT = {  # the engine's paces (app/taper/constants.py PACES), in the guideline's words
    Pace.STANDARD: "Standard: about 10% of the starting dose every 2 weeks",
    Pace.SLOWER: "Slower: about 10% of the starting dose every 4 weeks",
}
TIME_CHOICES = (
    ("", "Per day, as the order says"),
    ("bedtime", "At bedtime"),
    ("morning", "In the morning"),
    ("morning,bedtime", "Morning and bedtime"),
    ("morning,afternoon,bedtime", "Morning, afternoon and bedtime"),
    ("morning,noon,evening,bedtime", "Four times a day"),
)


def _extra_label(weeks: int) -> str:
    if weeks == 0:
        return "Go on as planned"
    return f"Hold {weeks} more weeks" if weeks == HOLD_WEEKS else f"Pause {weeks} weeks"


def _option(value: str, label: str, chosen: bool) -> str:
    return f'<option value="{esc(value)}"{" selected" if chosen else ""}>{esc(label)}</option>'


def _strengths(query: PlannerQuery) -> list[Fraction]:
    found = taper_products.drug(query.drug)
    values = {
        s.mg
        for p in (found.products if found else ())
        if query.tablet_form in (None, p.form)
        for s in p.strengths
    }
    if query.strength_mg is not None:
        values.add(query.strength_mg)
    return sorted(values)


def _medication_fields(query: PlannerQuery) -> str:
    forms = [_option("", "Usual tablets or capsules", query.form is None)]
    forms += [_option(f, noun(Form(f)), query.form == f) for f in forms_of(query.drug)]
    if query.form == LIQUID:
        forms.append(_option(LIQUID, "oral liquid (no tablet plan)", True))
    strengths = [_option("", "No preference", query.strength_mg is None)]
    strengths += [_option(mg(s), f"{mg(s)} mg", s == query.strength_mg) for s in _strengths(query)]
    dose = mg(query.dose_mg) if query.dose_mg is not None else ""
    return (
        f"<fieldset><legend>Medication: {esc(query.drug)}</legend>"
        f'<input type="hidden" name="drug" value="{esc(query.drug)}">'
        f'<p class="hint"><a href="{PATH}">Plan another medicine</a></p>'
        f'<div class="fields"><label>Form<select name="form" id="form">{"".join(forms)}'
        f"</select></label>"
        f'<label>Tablet strength to prefer<select name="strength" id="strength">'
        f"{''.join(strengths)}</select></label>"
        f'<label>Confirmed total daily dose (mg a day)<input type="number" name="dose" '
        f'id="dose" min="0.0001" max="1000" step="any" required inputmode="decimal" '
        f'value="{esc(dose)}"></label>'
        f'<label>First step on<input type="date" name="start" id="start" '
        f'value="{query.start.isoformat()}"></label></div></fieldset>'
    )


def _pace_fields(query: PlannerQuery) -> str:
    paces = "".join(
        f'<label class="choice"><input type="radio" name="pace" value="{p.value}"'
        f"{' checked' if p is query.pace else ''}> {esc(text)}</label>"
        for p, text in PACE_TEXT.items()
    )
    info = taper_products.drug(query.drug)
    switch = ""
    if info is not None and info.long_acting_switch:
        options = [("", f"Taper {query.drug} itself")] + [
            (t, f"Switch to {t} first, then taper") for t in LONG_ACTING_TARGETS
        ]
        switch = (
            "<fieldset><legend>Long-acting switch (ASAM 2025 rec. 7)</legend>"
            + "".join(
                f'<label class="choice"><input type="radio" name="switch" value="{esc(v)}"'
                f"{' checked' if (query.switch_to or '') == v else ''}> {esc(t)}</label>"
                for v, t in options
            )
            + "</fieldset>"
        )
    times = "".join(_option(v, t, ",".join(query.times) == v) for v, t in TIME_CHOICES)
    return (
        f"<fieldset><legend>Pace (ASAM 2025 rec. 6: 5-10% every 2-4 weeks, never more "
        f"than 25% in 2 weeks)</legend>{paces}</fieldset>{switch}"
        f'<label class="inline">Times of day<select name="times" id="times">{times}'
        f"</select></label>"
        f'<button type="submit" class="primary">Update plan</button>'
    )


def _summary(result: PlannerResult) -> str:
    plan = result.plan
    assert plan is not None
    first = next(s for s in plan.steps if s.kind is not StepKind.SWITCH)
    rows = [("Today's dose", f"{mg(plan.today_mg)} mg a day of {result.query.drug}")]
    if plan.switch is not None:
        rows.append(
            (
                "Switch",
                f"{mg(plan.switch.to_mg)} mg a day of {plan.switch.to_ingredient}"
                f" from {long_date(plan.steps[0].starts)}",
            )
        )
    rows += [
        (
            "First step",
            f"{long_date(first.starts)}: {mg(first.dose_mg)} mg a day "
            f"(-{mg(round(first.reduction * 100, 1))}%)",
        ),
        ("Pace as computed", plan.pace.text),
        ("Steps", str(len(plan.reductions))),
        ("Last dose stops", long_date(plan.ends) if plan.ends else "not within the plan"),
        ("Follow-up visit by", long_date(result.schedule.follow_up)),
    ]
    items = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in rows)
    return f'<dl class="summary" id="summary">{items}</dl>'


def _step_label(step: Step, number: int) -> str:
    return {StepKind.SWITCH: "Switch", StepKind.STOP: "Stop"}.get(step.kind, str(number))


def _hold_select(number: int, chosen: int) -> str:
    options = "".join(
        _option(f"{number}:{w}", _extra_label(w), w == chosen) for w in EXTRA_WEEKS_CHOICES
    )
    return (
        f'<label class="visually-hidden" for="hold-{number}">After step {number}</label>'
        f'<select name="hold" id="hold-{number}" class="hold">{options}</select>'
    )


def _table(result: PlannerResult) -> str:
    plan = result.plan
    assert plan is not None
    rows, number = [], 0
    for step in plan.steps:
        if step.kind is StepKind.REDUCE:
            number += 1
        weeks = ((step.ends - step.starts).days + 1) // 7 if step.ends else None
        change = {StepKind.SWITCH: "switch", StepKind.STOP: "stop"}.get(
            step.kind, f"-{mg(round(step.reduction * 100, 1))}%"
        )
        how = how_text(step.how, step.form) if step.kind is not StepKind.STOP else "Stop."
        if step.kind is StepKind.SWITCH:
            how = f"{step.ingredient}: {how}"
        then = (
            _hold_select(number, result.query.holds.get(number, 0))
            if step.kind is StepKind.REDUCE
            else ""
        )
        held = result.query.holds.get(number, 0) if step.kind is StepKind.REDUCE else 0
        rows.append(
            f'<tr data-kind="{step.kind.value}"{" class=held" if held else ""}>'
            f'<th scope="row">{_step_label(step, number)}</th>'
            f"<td>{long_date(step.starts)}</td>"
            f"<td>{long_date(step.ends) if step.ends else ''}</td>"
            f'<td class="num">{mg(step.dose_mg)} mg</td><td class="num">{change}</td>'
            f"<td>{esc(how or 'Ask the pharmacy how to make this dose')}</td>"
            f'<td class="num">{weeks if weeks is not None else ""}</td><td>{then}</td></tr>'
        )
    head = (
        '<tr><th scope="col">Step</th><th scope="col">From</th><th scope="col">Until'
        '</th><th scope="col">Daily dose</th><th scope="col">Change</th>'
        '<th scope="col">How to take it</th><th scope="col">Weeks</th>'
        '<th scope="col">Then</th></tr>'
    )
    return (
        f'<table id="schedule"><caption>Schedule of {esc(plan.ingredient)}: every date, '
        f"daily dose and tablets</caption><thead>{head}</thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _careplan_block(query: PlannerQuery, resource: dict[str, Any] | None) -> str:
    if resource is None:
        return ""
    text = json.dumps(resource, indent=2, ensure_ascii=False)
    return (
        f'<section aria-labelledby="careplan-h" class="careplan"><h2 id="careplan-h">Draft '
        f"CarePlan (FHIR R4)</h2><p>The same draft CarePlan as the card's suggestion, with "
        f"these adjustments. It names no patient: set the subject when you file it.</p>"
        f'<p class="actions"><a class="button" id="careplan-download" download='
        f'"taper-careplan.json" href="{href(PATH + "/careplan.json", to_params(query))}">'
        f'Download CarePlan JSON</a> <button type="button" id="careplan-copy" hidden>'
        f'Copy CarePlan JSON</button> <span id="copy-status" role="status"></span></p>'
        f'<details><summary>Show the JSON</summary><label for="careplan-json" '
        f'class="visually-hidden">Draft CarePlan JSON</label><textarea id="careplan-json" '
        f'readonly rows="12">{esc(text)}</textarea></details></section>'
    )


def _results(result: PlannerResult, resource: dict[str, Any] | None) -> str:
    query, plan = result.query, result.plan
    if query.dose_mg is None:
        return (
            '<section class="ask" id="results" aria-labelledby="ask-h"><h2 id="ask-h">'
            "Confirm the daily dose</h2><p>The order did not give one exact daily dose "
            "(a range, as needed, or not stated), so no schedule was computed. Enter the "
            "total the patient actually takes each day, in mg, then update the plan.</p>"
            "</section>"
        )
    if plan is None:
        return (
            f'<section class="ask" id="results" aria-labelledby="ask-h"><h2 id="ask-h">'
            f"No schedule for these choices</h2><p>{esc(result.reason)}</p></section>"
        )
    notes = "".join(f"<li>{esc(n)}</li>" for n in result.schedule.instructions)
    dropped = (
        f'<p class="note" role="note">{result.dropped_holds} hold(s) did not fit this '
        f"plan and were left out.</p>"
        if result.dropped_holds
        else ""
    )
    handout = href(PATH + "/handout", to_params(query))
    return (
        f'<div id="results"><section aria-labelledby="summary-h"><h2 id="summary-h">The plan'
        f'</h2>{_summary(result)}{dropped}<p class="actions"><a class="button primary" '
        f'id="print-handout" href="{handout}">Print for the patient</a></p></section>'
        f'<section aria-labelledby="chart-h"><h2 id="chart-h">Dose over time</h2><figure>'
        f"{dose_chart(plan, result.schedule.follow_up)}<figcaption>Daily dose in mg; each "
        f"marker is a step. The dashed line is the follow-up visit.</figcaption></figure>"
        f'</section><section aria-labelledby="table-h"><h2 id="table-h">Every step</h2>'
        f'<p class="hint">Withdrawal symptoms at a step? Hold it 2 more weeks or pause, then '
        f'go on more slowly (ASAM 2025 rec. 8-9). Choose under "Then" and update.</p>'
        f'<div class="table-wrap">{_table(result)}</div></section>'
        f"{_careplan_block(query, resource)}"
        f'<section aria-labelledby="notes-h"><h2 id="notes-h">Notes for the prescriber</h2>'
        f"<ul>{notes}</ul></section></div>"
    )


def _choose_drug() -> str:
    options = "".join(_option(d, d, False) for d in marketed_drugs())
    return (
        f'<form method="get" action="{PATH}" class="planner"><fieldset><legend>Medicine'
        f'</legend><div class="fields"><label>Benzodiazepine or Z-drug<select name="drug" '
        f'id="drug">{options}</select></label><label>Confirmed total daily dose (mg a day)'
        f'<input type="number" name="dose" id="dose" min="0.0001" max="1000" step="any" '
        f'inputmode="decimal"></label></div></fieldset>'
        f'<button type="submit" class="primary">Plan the taper</button></form>'
    )


def render(
    query: PlannerQuery | None, result: PlannerResult | None, resource: dict[str, Any] | None
) -> str:
    """The whole planner page (also what the script swaps in after a change)."""
    banner = (
        '<header class="banner"><p class="brand">benzo-safety-cds</p><p>Taper planner'
        ' <span class="quiet">(holds no patient data)</span></p></header>'
    )
    if query is None or result is None:
        main = (
            f'<main id="main"><h1>Benzodiazepine taper planner</h1><p>Pick the medicine and '
            f"the dose the patient takes each day.</p>{_choose_drug()}</main>"
        )
        return page("Taper planner", banner + main, css=("planner.css",), js=("planner.js",))
    title = f"Taper plan: {order_name(query)}"
    form = (
        f'<form method="get" action="{PATH}" id="planner-form" class="planner">'
        f"{_medication_fields(query)}{_pace_fields(query)}"
        f"{_results(result, resource)}</form>"
    )
    main = (
        f'<main id="main"><h1>{esc(title)}</h1><p class="lead">Adjust the pace with the '
        f"patient; every change recomputes the schedule with the same engine as the card."
        f'</p><div id="live" class="visually-hidden" role="status" aria-live="polite"></div>'
        f"{form}</main>"
    )
    footer = (
        '<footer class="foot"><p>Sources: ASAM 2025 Joint Clinical Practice Guideline on '
        "Benzodiazepine Tapering (recs. 1, 6-10); Pottie et al. 2018 and the "
        "deprescribing.org BZRA algorithm; FDA 2020 boxed warning. Product strengths and "
        "scoring: FDA labels and RxNorm (app/terminology/data/products.json).</p></footer>"
    )
    return page(title, banner + main + footer, css=("planner.css",), js=("planner.js",))
