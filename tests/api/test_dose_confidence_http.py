"""Through HTTP: a PRN order's computed amount is never shown as "today's dose".

The card side is written against DoseConfidence; the dose reader (app/normalize) decides the
confidence. Until the reader marks `asNeededBoolean` orders as an as-needed maximum, these
tests must fail (strict xfail); once it does, they must pass.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.gathered import Gathered
from app.normalize import build_record
from app.record import DoseConfidence
from tests.api.ehr_shapes import ANXIETY, SERVICE, cards_by_rule, hook, med_request
from tests.cards.builders import settings
from tests.conftest import EVALUATION_DATE


def _reader_marks_prn() -> bool:
    order = med_request("mr-lorazepam", "lorazepam", days_ago=10, prn=True)
    record = build_record(Gathered(patient_id="p", hook="patient-view",
                                   medication_requests=[order]),
                          today=EVALUATION_DATE, settings=settings())
    return record.medications[0].dose_confidence is DoseConfidence.AS_NEEDED_MAX


pytestmark = pytest.mark.xfail(not _reader_marks_prn(), strict=True,
                               reason="the dose reader does not yet mark PRN orders "
                                      "(issue #10 item 1, dose reader branch)")


def test_prn_benzodiazepine_gets_no_computed_taper(client: TestClient) -> None:
    lorazepam = med_request("mr-lorazepam", "lorazepam", days_ago=120, prn=True,
                            supply_days=90, repeats=1)
    cards = cards_by_rule(client.post(SERVICE["patient-view"],
                                      json=hook(meds=[lorazepam], conditions=[ANXIETY])))
    detail = cards["taper-plan"]["detail"]
    assert "Today's dose" not in detail
    assert "as needed; confirm actual use" in detail
    assert "confirm the total daily dose first" in detail


def test_prn_opioid_mme_is_an_upper_bound(client: TestClient) -> None:
    oxycodone = med_request("mr-oxycodone", "oxycodone", days_ago=3, prn=True)
    alprazolam = med_request("mr-alprazolam", "alprazolam", days_ago=10)
    cards = cards_by_rule(client.post(SERVICE["patient-view"],
                                      json=hook(meds=[oxycodone, alprazolam])))
    detail = cards["opioid-benzodiazepine-overlap"]["detail"]
    assert "Total opioid dose: **up to" in detail
    assert "as needed; confirm actual use" in detail
