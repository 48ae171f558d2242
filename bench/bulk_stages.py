"""Where a dry-run patient's time goes, stage by stage, in one process (bench/bulk.py --stages).

Each stage runs over the same sample of patients, after a warm-up that pays for first-use
imports and caches (the pydantic models behind the FHIR checks load lazily), in CPU
milliseconds per patient (process time: other jobs on a shared machine do not inflate it).
The workers' GC settings apply, so this profiles what they run.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

from app.bulk import typed
from app.bulk.files import list_export
from app.bulk.local import _tune_gc
from app.bulk.medications import MEDICATION_INDEX, MedicationLookup, build_medication_index
from app.bulk.partition import bucket_files, group_bucket, iter_buckets, partition_task, plan_tasks
from app.bulk.patient import (
    HOOK,
    RunOptions,
    evaluate_patient,
    evaluate_rows,
    gathered_for,
    parse_lines,
    when,
)
from app.bulk.route import ReadStats
from app.cards import fire_rules
from app.cards.verdicts import rule_verdicts
from app.config import Settings
from app.normalize import build_record
from app.normalize.typed import build_record as typed_record
from bench.data import EVALUATION_DATE

BUCKETS = 16


def _one_round(
    chosen: dict[str, list[bytes]], medications: MedicationLookup, options: RunOptions
) -> dict[str, float]:
    """CPU milliseconds per patient by stage, stage by stage and one patient at a time as the
    workers run them (holding every patient's structures at once would slow the GC down): the
    typed route (app/bulk/typed.py) the run takes; then the whole of `evaluate_patient` on the
    same patient, whose excess is the row's own work; and, apart, the lenient route the typed
    one stands in for (what `--no-shortcuts` and patients the typed route does not fit take),
    and the rules building every card as the hook does (what `--no-shortcuts` runs)."""
    clock, settings, date_arg = time.process_time, options.settings, options.date_arg
    spent = dict.fromkeys(
        (
            "decode (msgspec, typed)",
            "gather (typed)",
            "build_record (typed)",
            "rules (verdicts)",
            "whole",
            "lenient: parse JSON (orjson)",
            "lenient: gather",
            "lenient: build_record",
            "cards in full",
        ),
        0.0,
    )
    stats = ReadStats()
    for patient_id, lines in chosen.items():
        t0 = clock()
        resources = typed.decode_lines(lines)
        t1 = clock()
        chart = typed.gather(patient_id, HOOK, resources, medications)
        t2 = clock()
        record = typed_record(chart, today=date.fromisoformat(date_arg), settings=settings)
        t3 = clock()
        rule_verdicts(record, settings)
        t4 = clock()
        evaluate_patient(patient_id, lines, medications, options, stats)
        t5 = clock()
        parsed = parse_lines(lines, stats)
        t6 = clock()
        gathered = gathered_for(patient_id, parsed, medications)
        t7 = clock()
        build_record(gathered, today=when(parsed, options), settings=settings)
        t8 = clock()
        fire_rules(record, settings)
        t9 = clock()
        times = (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5, t7 - t6, t8 - t7, t9 - t8)
        for name, seconds in zip(spent, times, strict=True):
            spent[name] += seconds
    out = {name: seconds * 1000 / len(chosen) for name, seconds in spent.items()}
    whole = out.pop("whole")
    apart = {name: out.pop(name) for name in list(out)[4:]}
    out["row, hash, dose counts (rest)"] = whole - sum(out.values())
    out["evaluate (all but reading and grouping)"] = whole
    lenient = sum(v for k, v in apart.items() if k.startswith("lenient"))
    out.update({k: v for k, v in apart.items() if k.startswith("lenient")})
    out["for comparison: lenient route, parse to record (--no-shortcuts, NotFast)"] = lenient
    out["for comparison: rules building every card (--no-shortcuts)"] = apart["cards in full"]
    return out


def stages(
    folder: Path, sample: int = 2000, warm_up: int = 200, repeat: int = 3
) -> dict[str, float]:
    """Milliseconds per patient for each stage, in one process (medians of `repeat` rounds)."""
    _tune_gc()
    settings = Settings(_env_file=None, evaluation_date=EVALUATION_DATE)  # type: ignore[call-arg]
    options = RunOptions(settings=settings, date_arg=EVALUATION_DATE.isoformat())
    listing = list_export(folder)
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        started = time.process_time()
        for task in plan_tasks(listing):
            partition_task(task, work, BUCKETS)
        build_medication_index(work)
        patients = sum(
            1 for f in listing.files if f.resource_type == "Patient" for _ in f.path.open("rb")
        )
        out["read+partition"] = (time.process_time() - started) * 1000 / patients
        groups: dict[str, list[bytes]] = {}
        begun = time.process_time()
        for bucket in iter_buckets(work, BUCKETS):  # enough buckets for the sample, not all:
            groups.update(group_bucket(bucket_files(work, bucket)))  # memory stays small
            if len(groups) >= sample + warm_up:
                break
        out["group"] = (time.process_time() - begun) * 1000 / len(groups)
        ids = sorted(groups)
        medications = MedicationLookup(work / MEDICATION_INDEX)
        list(
            evaluate_rows({i: groups[i] for i in ids[-warm_up:]}, medications, options, ReadStats())
        )
        chosen = {i: groups[i] for i in ids[:sample]}

        rounds = [_one_round(chosen, medications, options) for _ in range(repeat)]
        out.update({name: statistics.median(r[name] for r in rounds) for name in rounds[0]})
    return {k: round(v, 3) for k, v in out.items()}
