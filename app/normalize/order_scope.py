"""When and where an order applies: its period (start, end, stated stop) and its setting."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from app.normalize.dates import add_days, duration_days, parse_date, period_bounds
from app.normalize.errors import Malformed
from app.normalize.fhir import as_dict, as_list, codings, concept_text
from app.normalize.sig.course import course_days

_EMPTY: dict[str, Any] = {}


def order_dates(
    resource: dict[str, Any],
    dosages: Sequence[dict[str, Any]],
    authored: date | None,
    draft_from: date | None,
) -> tuple[date | None, date | None, bool, date | None]:
    """(start, end, has_stop_date, recorded end) from supply, bounds, the sig's stated course,
    validity and authoredOn.

    ``draft_from``: the evaluation date for a draft order, which counts from today when it
    carries no authoredOn or period start (the usual shape of context.draftOrders).
    """
    bounds_start = bounds_end = None
    bounds_days = None
    for dosage in dosages:
        repeat = as_dict((as_dict(dosage.get("timing")) or _EMPTY).get("repeat")) or _EMPTY
        if bounds_start is None and bounds_end is None and "boundsPeriod" in repeat:
            bounds_start, bounds_end = period_bounds(repeat["boundsPeriod"])
        if bounds_days is None and "boundsDuration" in repeat:
            bounds_days = duration_days(repeat["boundsDuration"])
    if len({d.get("sequence") for d in dosages if type(d.get("sequence")) is int}) > 1:
        bounds_days = course_days(dosages)  # sequenced phases follow one another: they add up
    dispense = as_dict(resource.get("dispenseRequest")) or _EMPTY
    valid_start, valid_end = period_bounds(dispense.get("validityPeriod"))
    supply = duration_days(dispense.get("expectedSupplyDuration"))
    repeats = dispense.get("numberOfRepeatsAllowed") or 0
    if type(repeats) is not int or repeats < 0:
        raise Malformed("numberOfRepeatsAllowed is not a count")
    ended = parse_date(resource.get("dateEnded"), end=True)  # DSTU2 MedicationOrder

    start = bounds_start or valid_start or authored or draft_from
    end = ended
    # Best estimate of use first: CDC Opioid CDS "Prescription Relevant Period" is start + days
    # supply (we multiply by the fills allowed), then the dosage's own bounds. validityPeriod
    # comes last: it is how long the prescription may be filled (often 6-12 months), not use.
    if end is None and start is not None and supply:
        end = add_days(start, supply * (repeats + 1))
    if end is None and start is not None and bounds_days:
        end = add_days(start, bounds_days)
    # A duration written only in the sig ("for 30 days", "x 30 days", a taper ending "then
    # stop") is what the prescriber stated: before validityPeriod, which is about filling.
    sig_days = course_days(dosages) if end is None and start is not None else None
    if sig_days and start is not None:  # sig_days is read only with a start; mypy cannot tell
        end = add_days(start, sig_days)
    if end is None:
        end = bounds_end or valid_end
    has_stop = any(
        x is not None for x in (ended, bounds_end, valid_end, supply, bounds_days, sig_days)
    )
    return start, end, has_stop, ended


# medicationrequest-category codes (http://terminology.hl7.org/CodeSystem/medicationrequest-
# category): inpatient | outpatient | community | discharge. CDC Opioid CDS counts only
# "community" orders; we also count outpatient and discharge orders, and orders with no
# category (Synthea, the CDS Hooks Sandbox and many EHR feeds send none), as outpatient use.
INPATIENT = "inpatient"
OUTPATIENT = frozenset({"outpatient", "community", "discharge"})


def is_inpatient(category: Any) -> bool:
    """An order for use in hospital only: categorised inpatient and not also outpatient."""
    words: set[str] = set()
    try:
        for concept in as_list(category):
            for _, code, display in codings(concept):
                words.update(w.lower() for w in (code, display) if w)
            text = concept_text(concept)
            if text:
                words.add(text.lower())
    except Malformed:
        # An unreadable category must not drop a sedative order: read it as outpatient.
        return False
    return INPATIENT in words and not words & OUTPATIENT
