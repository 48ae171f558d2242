"""The dry run's typed route (app/bulk/typed.py) gives the lenient route's rows, or steps aside.

- hypothesis: one patient's lines, clean and messy resources of every type the hook reads
  (tests/normalize/typed_bodies.py) plus lines that are not JSON, not UTF-8, of other types,
  with numbers orjson refuses, duplicates and stray date fields: the same row and the same
  read counts by both routes, as of a fixed date and as of the patient's latest record;
- lines where msgspec and orjson disagree on what is JSON never pass the typed decoder;
- generated exports (the population mix, everyone on everything, the messy export with odd
  lines added): the same CSV, JSON figures and report by both routes, and nearly every
  generated patient does take the typed route (so the comparison compares something).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from app.bulk import typed
from app.bulk.files import list_export
from app.bulk.partition import bucket_files, group_bucket, iter_buckets, partition_task, plan_tasks
from app.bulk.patient import HOOK, RunOptions, evaluate_or_report
from app.bulk.progress import Progress
from app.bulk.route import ReadStats
from app.bulk.run import CSV_NAME, JSON_NAME, dry_run
from app.normalize.typed import NotFast
from bench.bulk_export import write_export
from tests.bulk.conftest import settings as run_settings
from tests.bulk.export import write_messy_export
from tests.conftest import EVALUATION_DATE
from tests.normalize import typed_bodies as tb

PID = tb.PID
_MEDICATION = {
    "resourceType": "Medication",
    "id": "m1",
    "code": {
        "coding": [{"system": tb.RXNORM, "code": "197901", "display": "LORazepam 1 MG Oral Tablet"}]
    },
}


class _Formulary:
    """The export's Medication resources, as MedicationLookup hands them out."""

    def get(self, rid: str) -> dict[str, Any] | None:
        if rid == "m1":
            return _MEDICATION
        if rid == "odd":
            return {"resourceType": "Medication", "id": "odd", "code": "clonazepam"}
        return None


_ODD_LINES = [
    b"not json at all",
    b'{"resourceType":"MedicationRequest","id":"broken",',
    b'{"resourceType":"Patient","id":"pt-1","x":"\xff\xfe"}',  # invalid UTF-8
    b'{"resourceType":"Patient","id":"pt-1","x":"\xc0\xaf"}',  # overlong UTF-8
    b'{"resourceType":"Condition","id":"c9","x":1e400}',  # past float range
    b'{"resourceType":"Condition","id":"c9","x":[1, -2.5E+309]}',
    b'{"resourceType":"Condition","id":"c9","x":' + b"9" * 320 + b"}",
    b'{"resourceType":"Condition","id":"c9","x":1e-400}',  # 0.0 for orjson
    b'{"resourceType":"Condition","id":"c8","note":"caf\xc3\xa9 \xe2\x80\x94 ok"}',
    b'{"resourceType":"Observation","id":"o1","subject":{"reference":"Patient/pt-1"}}',
    b'{"resourceType":"Medication","id":"m2"}',
    b'{"id":"no-type"}',
    b"[1,2]",
    b'"text"',
    b'{"resourceType":"CarePlan","resourceType":"Condition","id":"c7"}',  # duplicate key
    b'{"resourceType":"CarePlan","id":"p9","authoredOn":"2027-03-01","status":"active"}',
    b'{"resourceType":"Patient","id":"pt-1","created":"2027-05-05T10:00:00Z"}',
    b'{"resourceType":"MedicationRequest","id":"r9","recordedDate":"2028-01-01",'
    b'"medicationReference":{"reference":"Medication/odd"}}',
    b'{"resourceType":"ServiceRequest","id":"s9","created":7,"onsetDateTime":"2026-13-45"}',
]


def _resources(*, mess: bool) -> st.SearchStrategy[dict[str, Any]]:
    """Resources of the five types, messy or clean (typed_bodies reads its flag as it builds)."""
    tb._MESS[0] = mess
    try:
        return st.one_of(
            tb.patient(mess),
            tb.med_request(st.sampled_from(["r1", "r2", "r3"]), mess=mess),
            tb.condition(st.sampled_from(["c1", "c2"])),
            tb.plan("CarePlan", st.sampled_from(["p1"])),
            tb.plan("ServiceRequest", st.sampled_from(["s1", "s2"])),
        )
    finally:
        tb._MESS[0] = True


_clean = _resources(mess=False).map(orjson.dumps)
_messy = _resources(mess=True).map(orjson.dumps)
# Clean patients (whom the typed route reads), and patients with messy resources and odd lines.
_lines = st.one_of(
    st.lists(_clean, max_size=12),
    st.lists(st.one_of(_clean, _messy, st.sampled_from(_ODD_LINES)), max_size=12),
)


def _both(lines: list[bytes], date_arg: str) -> tuple[Any, Any]:
    out = []
    for route in (True, False):
        stats = ReadStats()
        options = RunOptions(
            settings=run_settings(), date_arg=date_arg, reveal_ids=True, typed=route
        )
        out.append((evaluate_or_report(PID, lines, _Formulary(), options, stats), stats))
    return out[0], out[1]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=_lines, date_arg=st.sampled_from(["latest", EVALUATION_DATE.isoformat()]))
def test_typed_route_gives_the_lenient_row(lines: list[bytes], date_arg: str) -> None:
    try:
        typed.read_patient(PID, HOOK, lines, _Formulary(), date_arg, run_settings())
        event("typed route")
    except NotFast:
        event("lenient route (NotFast)")
    except Exception:  # noqa: BLE001 - a patient the lenient route fails too (asserted below)
        event("lenient route (an error)")
    typed_result, lenient_result = _both(lines, date_arg)
    assert typed_result == lenient_result


def _orjson_refuses(line: bytes) -> bool:
    try:
        orjson.loads(line)
    except orjson.JSONDecodeError:
        return True
    return False


_NUMBER = st.from_regex(
    r"-?(0|[1-9][0-9]{0,320})(\.[0-9]{1,4})?([eE][-+]?[0-9]{1,4})?", fullmatch=True
)


@settings(max_examples=400, deadline=None)
@given(number=_NUMBER, junk=st.binary(max_size=6), where=st.sampled_from(["x", "id"]))
def test_no_line_orjson_refuses_passes_the_typed_decoder(
    number: str, junk: bytes, where: str
) -> None:
    """msgspec skips undeclared fields without checking their UTF-8 or their numbers' range;
    the typed decoder must refuse whatever orjson refuses, or the routes would differ."""
    for line in (
        b'{"resourceType":"Patient","id":"a","x":[' + number.encode() + b"]}",
        b'{"resourceType":"Patient","' + where.encode() + b'":"a' + junk + b'"}',
    ):
        if _orjson_refuses(line):
            with pytest.raises(NotFast):
                typed.decode_lines([line])


@pytest.mark.parametrize("line", _ODD_LINES)
def test_odd_lines_orjson_refuses_are_not_fast(line: bytes) -> None:
    if _orjson_refuses(line):
        with pytest.raises(NotFast):
            typed.decode_lines([line])


def _outputs(out: Path) -> tuple[bytes, dict[str, Any]]:
    report = json.loads((out / JSON_NAME).read_text())
    return (out / CSV_NAME).read_bytes(), {k: report[k] for k in ("summary", "reading")}


def _typed_share(folder: Path) -> float:
    """The share of the export's patients the typed route reads without stepping aside."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for task in plan_tasks(list_export(folder)):
            partition_task(task, work, 4)
        groups: dict[str, list[bytes]] = {}
        for bucket in iter_buckets(work, 4):
            groups.update(group_bucket(bucket_files(work, bucket)))
    fast = 0
    for patient_id, lines in groups.items():
        try:
            typed.read_patient(patient_id, HOOK, lines, _Formulary(), "latest", run_settings())
            fast += 1
        except NotFast:
            pass
    return fast / len(groups)


def _add_odd_lines(folder: Path) -> None:
    """The odd lines above, given to one patient of the messy export, in a file of their own."""
    patient = orjson.loads((folder / "Patient.1.ndjson").read_bytes().splitlines()[0])["id"]
    lines = [line.replace(b"pt-1", patient.encode()) for line in _ODD_LINES]
    subject = b',"subject":{"reference":"Patient/' + patient.encode() + b'"}}'
    lines = [
        line[:-1] + subject
        if line.endswith(b"}") and b'"subject"' not in line and b'"Patient"' not in line[:30]
        else line
        for line in lines
    ]
    (folder / "Condition.9.ndjson").write_bytes(b"\n".join(lines) + b"\n")


@pytest.mark.slow
@pytest.mark.parametrize(("mix", "patients"), [("population", 300), ("all", 60), ("messy", 40)])
def test_typed_route_equals_lenient_route_on_exports(
    mix: str, patients: int, tmp_path: Path
) -> None:
    if mix == "messy":
        folder = write_messy_export(tmp_path / "export", patients).folder
        _add_odd_lines(folder)
    else:
        folder = write_export(tmp_path / "export", patients, seed=1731, mix=mix, files=2, jobs=1)
    runs = {}
    for date_arg in ("latest", EVALUATION_DATE.isoformat()):
        for route in (True, False):
            out = tmp_path / f"{date_arg}-{route}"
            dry_run(
                folder,
                out,
                settings=run_settings(),
                date_arg=date_arg,
                workers=2,
                progress=Progress(enabled=False),
                typed=route,
            )
            runs[route] = _outputs(out)
        assert runs[True][0] == runs[False][0]  # CSV, byte for byte
        assert runs[True][1] == runs[False][1]  # JSON figures and reading counts
    # The typed route is the one generated patients take (the messy export's odd lines send
    # a few aside by design).
    assert _typed_share(folder) >= (0.9 if mix == "messy" else 1.0)
