"""The dry-run report: one self-contained HTML page (inline CSS and SVG, no script, no CDN)."""

from __future__ import annotations

from html import escape
from typing import Any

from app.bulk.patient import AGE_BANDS, DOSE_COLUMNS
from app.bulk.summary import DAY_BINS, INDICATORS, MME_BINS, Summary
from app.bulk.svg import bar_chart, grouped_bars
from app.cards import RULES
from app.record import DoseConfidence

_CSS = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:980px;color:#222}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 8px;
text-align:right}th:first-child,td:first-child{text-align:left}.note{color:#555;font-size:.9em}
figure{margin:1em 0}"""


def _table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{escape(str(h))}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def _rates(summary: Summary, modes: dict[str, str]) -> str:
    rows = []
    for rule in RULES:
        count = sum(n for (r, _, _), n in summary.cards.items() if r == rule)
        by = [f"{summary.per_thousand(rule, i):.1f}" for i in INDICATORS]
        rows.append([rule, modes.get(rule, "?"), count, *by, f"{summary.per_thousand(rule):.1f}"])
    return _table(
        ["rule", "mode", "patients with card", *[f"{i} /1,000" for i in INDICATORS], "all /1,000"],
        rows,
    )


def _by_band(summary: Summary) -> tuple[str, str]:
    bands = [b for b in AGE_BANDS if summary.by_band[b]]
    series = [(rule, [summary.per_thousand(rule, band=b) for b in bands]) for rule in RULES]
    chart = grouped_bars(bands, series, "Cards per 1,000 patients, by age band")
    rows: list[list[str | int]] = [
        [rule, *[f"{summary.per_thousand(rule, band=b):.1f}" for b in bands]] for rule in RULES
    ]
    rows.append(["patients", *[summary.by_band[b] for b in bands]])
    return chart, _table(["rule \\ age band", *bands], rows)


def _failed(summary: Summary) -> str:
    if not summary.failed:
        return ""
    return (
        f"<p><strong>{summary.failed:,} patients could not be evaluated</strong> (a bug in "
        'the service; see "Data read" for where). They are left out of every figure below.'
        "</p>"
    )


def render(summary: Summary, reading: dict[str, Any], meta: dict[str, Any]) -> str:
    """The whole report page; `reading` is what was read and skipped, `meta` the run."""
    modes: dict[str, str] = meta.get("rule_modes", {})
    band_chart, band_table = _by_band(summary)
    mme = [(label, float(summary.mme[label])) for label, _ in MME_BINS]
    days = [(label, float(summary.bzra_days[label])) for label, _ in DAY_BINS]
    drugs = [(name, float(n)) for name, n in summary.drugs.most_common(15)]
    dose_total = sum(summary.doses.values())
    doses = [(str(kind), float(summary.doses[column])) for kind, column in DOSE_COLUMNS.items()]
    share = summary.confident_share()
    exact = summary.doses[DOSE_COLUMNS[DoseConfidence.EXACT]]
    run_rows = [[key, value] for key, value in meta.items() if key != "rule_modes"]
    read_rows = [
        ["lines read", reading.get("lines", 0)],
        ["malformed lines (skipped)", reading.get("malformed_lines", 0)],
        *[[f"{kind} resources", n] for kind, n in reading.get("resources", {}).items()],
        *[
            [f"{kind} without one patient reference (skipped)", n]
            for kind, n in reading.get("without_patient", {}).items()
        ],
        *[
            [f"{kind} lines in read files (not used)", n]
            for kind, n in reading.get("other_types", {}).items()
        ],
        *[[f"{kind} files (not read)", n] for kind, n in reading.get("ignored_files", {}).items()],
        [
            "patients without a Patient resource (not evaluated)",
            reading.get("without_patient_resource", 0),
        ],
        *[
            [f"patients whose evaluation failed: {site}", n]
            for site, n in reading.get("failed_patients", {}).items()
        ],
        ["resources normalization could not read", summary.unreadable],
    ]
    return "".join(
        [
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
            "<title>Benzodiazepine safety CDS: population dry run</title>",
            f"<style>{_CSS}</style></head><body>",
            "<h1>Benzodiazepine safety CDS: population dry run</h1>",
            f"<p><strong>{summary.patients:,}</strong> patients evaluated; "
            f"<strong>{summary.with_cards:,}</strong> "
            f"({_pct(summary.with_cards, summary.patients)})"
            " would see at least one card on opening the chart (patient-view). Every rule that is "
            "not off was evaluated, silent ones included.</p>",
            _failed(summary),
            "<h2>Cards per 1,000 patients, by rule and indicator</h2>",
            _rates(summary, modes),
            "<h2>By age band</h2>",
            f"<figure>{band_chart}</figure>",
            band_table,
            "<h2>Opioid dose on overlap cards</h2>",
            f"<figure>{bar_chart(mme, 'Overlap cards by total MME/day (CDC 2022 factors)')}"
            "</figure>",
            f'<p class="note">{summary.mme_incomplete:,} overlap cards had an opioid whose MME '
            "could not be computed; they are counted at the MME of the others. "
            f"{summary.mme_upper_bound:,} totals are upper bounds (a PRN maximum or the top of a "
            "range), as the cards say.</p>",
            "<h2>How long benzodiazepines and Z-drugs have been taken</h2>",
            f"<figure>{bar_chart(days, 'Patients on a BZRA, by length of the current course')}"
            '</figure><p class="note">Course: renewals of one ingredient with gaps of at most '
            f"{meta.get('renewal gap (days)', '?')} days count as one (the episode the taper-plan "
            "rule reads); the longest current course per patient.</p>",
            "<h2>Top drugs among patients with a card</h2>",
            f"<figure>{bar_chart(drugs, 'Patients with a card, by CNS-active drug taken')}"
            "</figure>",
            "<h2>Doses read with confidence</h2>",
            f"<p>{_pct(exact, dose_total)} of {dose_total:,} current "
            "benzodiazepine, Z-drug and opioid orders had a dose read exactly"
            + ("" if share is not None else " (none found)")
            + ".</p>",
            f"<figure>{bar_chart(doses, 'Current BZRA and opioid orders by dose confidence')}"
            "</figure>",
            "<h2>Data read</h2>",
            _table(["", "count"], read_rows),
            "<h2>Run</h2>",
            _table(["", ""], run_rows),
            '<p class="note">Patient ids appear nowhere in this report. Counts are patients, not '
            "calls: a clinician opening the chart several times sees the same card each time "
            "unless it is snoozed.</p></body></html>",
        ]
    )
