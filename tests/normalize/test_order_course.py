"""What an order says about its own course: a duration in the sig, a stepped-down sequence, and
the reasons it was written for (issue #11: off-ramp and taper evidence)."""

from datetime import timedelta

import pytest

from app.config import Settings
from app.normalize import build_record
from app.normalize.sig.course import course_days, text_days
from app.record import MedicationUse
from tests.normalize.builders import condition, dosage, gathered, med_request
from tests.normalize.conftest import TODAY

pytestmark = pytest.mark.usefixtures("fake_terms")

ALPRAZOLAM = {"code": "308047", "display": "alprazolam 0.25 MG Oral Tablet"}


def draft(settings: Settings, **kwargs: object) -> MedicationUse:
    order = med_request("d1", **ALPRAZOLAM, status="draft", authored=None, **kwargs)
    [use] = build_record(
        gathered(hook="order-sign", drafts=[order]), today=TODAY, settings=settings
    ).medications
    return use


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("1 mg by mouth twice daily for 30 days", 30),
        ("Take 1 tablet by mouth 2 (two) times daily x 30 days", 30),
        ("1 tab bid x30d", 30),
        ("1 tab po bid for 2 weeks", 14),
        ("1 mg nightly for 1 month", 30),
        ("1 tab q6h prn anxiety for up to 5 days", 5),
        ("1 mg daily for 2 weeks, then 0.5 mg daily for 2 weeks, then stop", 28),
        ("1 mg bid x 7 days, then 1 mg daily x 7 days", 14),
        ("2 mg at bedtime for 7 days, then 1 mg at bedtime", None),  # open last phase
        ("1 mg daily, then 0.5 mg daily for 2 weeks, then stop", None),  # first phase open
        ("Take 1 tablet by mouth 2 (two) times daily.", None),
        ("1 tab bid for 1-2 weeks", None),  # no one length
    ],
)
def test_text_course(text: str, days: float | None) -> None:
    assert text_days(text) == days


def test_sequenced_dosages_add_up_and_concurrent_ones_run_together() -> None:
    assert (
        course_days(
            [
                dosage(text="1 mg bid x 7 days", sequence=1),
                dosage(text="1 mg daily", sequence=2, bounds_days=7),
            ]
        )
        == 14
    )
    assert (
        course_days(
            [
                dosage(text="1 tab in the morning x 30 days"),
                dosage(text="2 tabs at bedtime x 30 days"),
            ]
        )
        == 30
    )
    assert (
        course_days(
            [dosage(text="1 tab in the morning x 30 days"), dosage(text="2 tabs at bedtime")]
        )
        is None
    )
    assert course_days(["not a dosage"]) is None


@pytest.mark.parametrize(
    ("kwargs", "days"),
    [
        ({"dosages": [dosage(text="1 mg by mouth twice daily for 30 days")]}, 30),
        # The order's own supply or bounds win over words in the sig.
        ({"dosages": [dosage(text="1 mg twice daily for 30 days")], "supply": (14, "d")}, 14),
        ({"dosages": [dosage(text="1 mg twice daily for 30 days", bounds_days=10)]}, 10),
        # A fill window is not a course: the sig's words come first.
        (
            {
                "dosages": [dosage(text="1 mg twice daily x 21 days")],
                "validity": (None, (TODAY + timedelta(days=180)).isoformat()),
            },
            21,
        ),
        ({"dosages": [dosage(text="1 mg twice daily")]}, None),
    ],
)
def test_sig_duration_ends_a_draft(settings: Settings, kwargs: dict, days: int | None) -> None:
    use = draft(settings, **kwargs)
    assert use.start == TODAY
    assert use.end == (TODAY + timedelta(days=days) if days else None)
    assert use.has_stop_date is (days is not None)


@pytest.mark.parametrize(
    ("texts", "taper"),
    [
        (["1 mg daily for 2 weeks, then 0.5 mg daily for 2 weeks, then stop"], True),
        (["2 mg at bedtime for 7 days, then 1 mg at bedtime"], True),
        (["1 mg daily for 14 days then stop"], False),  # a course with an end
        (["0.5 mg at bedtime for 3 days, then 1 mg at bedtime"], False),  # titration up
        (["1 mg twice daily"], False),
    ],
)
def test_stepped_down_sig_documents_a_taper(
    settings: Settings, texts: list[str], taper: bool
) -> None:
    use = draft(settings, dosages=[dosage(text=t) for t in texts])
    assert use.mentions_taper is taper


def test_stepped_down_sequence_of_dosages_documents_a_taper(settings: Settings) -> None:
    steps = [
        dosage(value=1, unit="mg", frequency=2, period=1, sequence=1, bounds_days=14),
        dosage(value=1, unit="mg", frequency=1, period=1, sequence=2, bounds_days=14),
    ]
    use = draft(settings, dosages=steps)
    assert use.mentions_taper and use.daily_dose_mg == 2 and use.end == TODAY + timedelta(days=28)


def test_reason_names_and_a_taper_reason(settings: Settings) -> None:
    rec = build_record(
        gathered(
            hook="order-sign",
            drafts=[
                med_request(
                    "d1",
                    **ALPRAZOLAM,
                    status="draft",
                    authored=None,
                    reason_codes=[{"text": "Knee osteoarthritis"}],
                    reason_refs=["Condition/c1"],
                )
            ],
            conditions=[condition("c1", text="Chronic low back pain")],
        ),
        today=TODAY,
        settings=settings,
    )
    use = rec.medications[0]
    assert use.reason_text == "Knee osteoarthritis; Chronic low back pain"
    assert not use.mentions_taper and use.reason_categories == frozenset()
    switch = draft(settings, reason_codes=[{"text": "Switch from alprazolam for taper"}])
    assert switch.mentions_taper and switch.reason_text == "Switch from alprazolam for taper"


def test_reason_reference_display_names_the_reason(settings: Settings) -> None:
    use = draft(
        settings, reasonReference=[{"reference": "Condition/gone", "display": "Fear of flying"}]
    )
    assert use.reason_text == "Fear of flying"
