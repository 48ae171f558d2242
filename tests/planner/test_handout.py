"""The handout: plain words at a reading age of about 12, each statement sourced, the chart."""

from __future__ import annotations

import re
from datetime import date
from html import unescape

import pytest
import textstat
from fastapi.testclient import TestClient

from app.config import Settings
from app.planner import handout_text as words
from app.planner.chart import GRID, INK, MUTED, dose_chart
from app.planner.handout_page import prose
from app.planner.query import parse
from app.planner.schedule import compute

SETTINGS = Settings(_env_file=None)  # type: ignore[call-arg]
START = date(2026, 11, 23)
PLANS = {
    "alprazolam": "drug=alprazolam&form=tablet&strength=0.5&dose=1.5",
    "switch": "drug=lorazepam&form=tablet&strength=1&dose=3&switch=diazepam",
    "zolpidem": "drug=zolpidem&form=tablet&strength=10&dose=10",
}
# Reading age about 12 = US grade 6-7. Measured on the handout's sentences (textstat 0.7.5):
# Flesch-Kincaid grade 2.7, Flesch reading ease 94.6, SMOG 6.5-6.7 for the three plans below;
# the printed page (headings and lead-in, without the dose table): grade 2.9, ease 94.
MAX_GRADE, MIN_EASE = 6.0, 80.0


def _result(query: str):  # noqa: ANN202 - a PlannerResult
    params = {k: [v] for k, v in (p.split("=") for p in f"{query}&start=2026-11-23".split("&"))}
    return compute(parse(params, START), SETTINGS)


@pytest.mark.parametrize("name", PLANS)
def test_handout_reads_at_about_age_12(name: str) -> None:
    result = _result(PLANS[name])
    assert result.plan is not None
    text = " ".join(prose(result.plan, result.schedule.follow_up))
    grade = textstat.flesch_kincaid_grade(text)
    ease = textstat.flesch_reading_ease(text)
    assert grade <= MAX_GRADE, grade
    assert ease >= MIN_EASE, ease
    for section in words.SECTIONS:  # no section much harder than the whole
        part = " ".join(
            s.render(drug="alprazolam", old="alprazolam", visit="Dec 21, 2026")
            for s in section.statements
        )
        assert textstat.flesch_kincaid_grade(part) <= 7.0, section.heading


def test_the_printed_page_reads_as_easily(client: TestClient) -> None:
    page = client.get(f"/taper-planner/handout?{PLANS['alprazolam']}&start=2026-11-23").text
    main = page.split("<main", 1)[1].split("</main>", 1)[0]
    talk = re.sub(r"<table.*?</table>|<svg.*?</svg>|<footer.*?</footer>", " ", main, flags=re.S)
    text = unescape(re.sub(r"<[^>]+>", " ", talk))
    assert textstat.flesch_kincaid_grade(text) <= 7.0
    assert textstat.flesch_reading_ease(text) >= 70.0


def test_every_statement_carries_a_known_source() -> None:
    statements = [
        words.SWITCH,
        words.STOP_ROW,
        words.NOW_ROW,
        *(s for sec in words.SECTIONS for s in sec.statements),
    ]
    assert all(s.source in words.SOURCES for s in statements)
    assert set(words.used_sources()) >= {"ASAM2025", "POTTIE2018", "FDA2020", "ACP2016"}


def test_handout_covers_what_the_patient_needs(client: TestClient) -> None:
    page = unescape(
        client.get(f"/taper-planner/handout?{PLANS['alprazolam']}&start=2026-11-23").text
    )
    for needed in (
        "Your dose calendar",
        "What to expect",
        "If sleep or worry gets worse",
        "When to call",
        "Your next visit",
        "Dec 21, 2026",
        "CBT-I",
        "usually pass",
        "slow the plan down",
        "not a weakness",
        "911",
        "Mon, Nov 23, 2026",
        "Stop. You have finished the plan.",
        "1.375 mg",
    ):
        assert needed in page, needed
    for source in words.used_sources():
        assert words.SOURCES[source] in page


def test_chart_is_one_marker_per_step_in_grey_scale() -> None:
    result = _result(PLANS["switch"])
    plan = result.plan
    assert plan is not None
    svg = dose_chart(plan, result.schedule.follow_up)
    marks = re.findall(r'<circle class="step"[^>]*data-date="([\d-]+)" data-mg="([\d.]+)"', svg)
    assert marks == [(s.starts.isoformat(), f"{float(s.dose_mg):g}") for s in plan.steps]
    assert '<title id="chart-title">' in svg and "<desc" in svg and 'role="img"' in svg
    assert 'class="follow-up"' in svg
    colours = set(re.findall(r'(?:fill|stroke)="(#[0-9a-f]{6})"', svg))
    assert colours <= {INK, GRID, MUTED, "#ffffff"}
    assert all(c[1:3] == c[3:5] == c[5:7] for c in colours)  # greys only: prints the same
