"""The patient's handout: one or two printed pages in plain words, from the planner's plan."""

from __future__ import annotations

from datetime import date, timedelta

from app.planner import handout_text as words
from app.planner.chart import dose_chart
from app.planner.html import esc, href, long_date, page, weekday_date
from app.planner.query import PlannerQuery, to_params
from app.planner.schedule import PlannerResult
from app.taper import StepKind, TaperPlan, how_text, mg

PATH = "/taper-planner/handout"


def _calendar(plan: TaperPlan, query: PlannerQuery) -> str:
    rows = []
    first = plan.steps[0]
    if first.kind is not StepKind.SWITCH and first.starts > query.start - timedelta(days=1):
        rows.append(
            _row(
                "Now",
                weekday_date(first.starts - timedelta(days=1)),
                f"{mg(plan.today_mg)} mg",
                words.NOW_ROW.render(),
            )
        )
    for step in plan.steps:
        if step.kind is StepKind.STOP:
            rows.append(
                _row(weekday_date(step.starts), "", "none", words.STOP_ROW.render(), stop=True)
            )
            continue
        how = how_text(step.how, step.form) or "Ask the pharmacy how to make this dose."
        if step.kind is StepKind.SWITCH:
            how = f"Change to {step.ingredient}: {how}"
        rows.append(
            _row(
                weekday_date(step.starts),
                weekday_date(step.ends) if step.ends else "",
                f"{mg(step.dose_mg)} mg",
                how,
            )
        )
    head = (
        '<tr><th scope="col">From</th><th scope="col">Until</th><th scope="col">Each day'
        '</th><th scope="col">How to take it</th><th scope="col" class="tick">Done'
        "</th></tr>"
    )
    # Long plans taken several times a day (high doses, mixed strengths) print in a tighter
    # table so the handout keeps to two pages.
    klass = "calendar compact" if sum(len(r) for r in rows) > 4000 else "calendar"
    return (
        f'<table class="{klass}" id="calendar"><caption>Your doses of '
        f"{esc(plan.ingredient)}, step by step</caption><thead>{head}</thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _row(start: str, end: str, dose: str, how: str, *, stop: bool = False) -> str:
    klass = ' class="stop"' if stop else ""
    return (
        f'<tr{klass}><td class="date">{esc(start)}</td><td class="date">{esc(end)}</td>'
        f'<td class="num">'
        f'{esc(dose)}</td><td>{esc(how)}</td><td class="tick" aria-label="tick when '
        f'done">&#9744;</td></tr>'
    )


def _section(section: words.Section, values: dict[str, str], number: int) -> str:
    texts = [s.render(**values) for s in section.statements]
    if section.kind == "list":
        body = "<ul>" + "".join(f"<li>{esc(t)}</li>" for t in texts) + "</ul>"
    else:
        body = "<p>" + " ".join(esc(t) for t in texts) + "</p>"
    return (
        f'<section class="talk" aria-labelledby="h-{number}"><h2 id="h-{number}">'
        f"{esc(section.heading)}</h2>{body}</section>"
    )


def prose(plan: TaperPlan, visit: date) -> list[str]:
    """Every plain-language sentence the handout prints (what readability is measured on)."""
    values = _values(plan, visit)
    out = [words.SWITCH.render(**values)] if plan.switch else []
    return out + [s.render(**values) for sec in words.SECTIONS for s in sec.statements]


def _values(plan: TaperPlan, visit: date) -> dict[str, str]:
    old = plan.switch.from_ingredient if plan.switch else plan.ingredient
    return {"drug": plan.ingredient, "old": old, "visit": long_date(visit)}


def render(result: PlannerResult) -> str:
    """The handout page (screen and print); the same HTML the PDF is printed from."""
    plan, query = result.plan, result.query
    assert plan is not None
    visit = result.schedule.follow_up
    values = _values(plan, visit)
    switch = f'<p class="switch">{esc(words.SWITCH.render(**values))}</p>' if plan.switch else ""
    why, *rest = words.SECTIONS
    sections = "".join(_section(s, values, i) for i, s in enumerate(rest, start=1))
    sources = "; ".join(esc(words.SOURCES[k]) for k in words.used_sources())
    planner = href("/taper-planner", to_params(query))
    end = (
        f" You take the last dose on {weekday_date(plan.ends - timedelta(days=1))}."
        if plan.ends
        else ""
    )
    body = (
        f'<nav class="no-print toolbar" aria-label="Handout"><a href="{planner}">Back to the '
        f'planner</a> <button type="button" id="print-button" hidden>Print this page</button>'
        f'</nav><main id="main" class="handout"><header class="handout-head"><h1>Your plan to '
        f'lower {esc(query.drug)} slowly</h1><p class="write-in">Name: '
        f'<span class="line"></span> Clinic phone: <span class="line"></span></p></header>'
        f'<p class="lead">Start on <strong>{esc(weekday_date(plan.steps[0].starts))}</strong>. '
        f"Take the dose in the table each day, until the next date.{esc(end)}</p>{switch}"
        f"{_section(why, values, 0)}"
        f'<section class="calendar-section" aria-labelledby="h-cal"><h2 id="h-cal">Your dose '
        f"calendar</h2>"
        f"{_calendar(plan, query)}</section>"
        f'<figure class="handout-chart">{dose_chart(plan, visit, chart_id="hchart", compact=True)}'
        f"<figcaption>Your daily dose goes down step by step. The dashed line is your next "
        f"visit.</figcaption></figure>"
        f'<div class="talk-group">{sections}</div>'
        f'<footer class="sources"><p>Based on: {sources}.</p></footer></main>'
    )
    paper = f"paper-{query.paper}" if query.paper else ""
    return page(
        f"Your plan to lower {query.drug} slowly",
        body,
        css=("handout.css",),
        js=("planner.js",),
        body_class=paper,
    )
