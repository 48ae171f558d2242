"""Prometheus metrics (no patient data in any label).

With several worker processes (`benzo-cds serve --workers N`) each worker writes its values to
files in PROMETHEUS_MULTIPROC_DIR and a scrape of any worker sums them all; otherwise a scrape
would show whichever worker answered, and counters would seem to reset between scrapes.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROC_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

CALLS = Counter(
    "cds_calls_total",
    "HTTP calls by endpoint, service and status",
    ["endpoint", "service", "status"],
)
LATENCY = Histogram(
    "cds_call_duration_seconds",
    "Hook call latency",
    ["service"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
CARDS = Counter("cds_cards_total", "Cards returned by rule and indicator", ["rule", "indicator"])
SILENT = Counter(
    "cds_cards_silent_total",
    "Cards of rules in silent mode: evaluated and counted, not returned",
    ["rule", "indicator"],
)
SNOOZED = Counter("cds_cards_snoozed_total", "Cards suppressed by an earlier override", ["rule"])
FHIR_ERRORS = Counter(
    "cds_fhir_fetch_errors_total", "Hook calls that failed to gather data", ["service"]
)
# `key` is one of our own prefetch keys (app/hooks/definitions.py), so the label set is bounded.
DATA_MISSING = Counter(
    "cds_data_missing_total",
    "Hook calls answered without a prefetch key that could not be had",
    ["service", "key"],
)
INVALID_SUGGESTIONS = Counter(
    "cds_suggestions_invalid_total",
    "Suggested resources left out because R4B validation failed",
    ["resource"],
)
# "typed": the body fitted the typed schema and was answered from prefetch alone; "lenient":
# anything else (odd shapes, data to fetch, errors). A high lenient share is worth a look.
DECODE_PATH = Counter(
    "cds_decode_path_total", "Hook calls by the reader that answered them", ["path"]
)
FEEDBACK = Counter("cds_feedback_total", "Feedback items received by outcome", ["outcome"])
# Across workers: what the workers alive now saw last.
DATABASE_UP = Gauge(
    "cds_database_up",
    "1 while the database answers, 0 while it does not",
    multiprocess_mode="livemostrecent",
)
SNOOZE_SKIPPED = Counter(
    "cds_snooze_skipped_total",
    "Hook calls answered without the snooze filter (database unavailable)",
)
WRITE_BEHIND_DROPPED = Counter(
    "cds_write_behind_dropped_total",
    "Card rows not queued for writing: the queue was full (the next "
    "call showing the card queues it again)",
    ["table"],
)
REPLAY_DEGRADED = Counter(
    "cds_jti_replay_local_only_total",
    "Tokens checked against this process's replay cache only (database unavailable)",
)

_PREFIX = "/cds-services/"


def service_label(path: str, known: set[str] | frozenset[str]) -> str:
    """The service id in a /cds-services/{id}[/feedback] path when it is a known one, else '-'.

    Unknown ids stay '-' so a caller cannot grow the label set without bound.
    """
    if not path.startswith(_PREFIX):
        return "-"
    candidate = path[len(_PREFIX) :].split("/", 1)[0]
    return candidate if candidate in known else "-"


def render() -> tuple[bytes, str]:
    """The exposition text: this process's metrics, or every worker's when there are several."""
    if not os.environ.get(MULTIPROC_DIR_VARIABLE):
        return generate_latest(), CONTENT_TYPE_LATEST
    registry = CollectorRegistry()
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # unannotated upstream
    return generate_latest(registry), CONTENT_TYPE_LATEST
