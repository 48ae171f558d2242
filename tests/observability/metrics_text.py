"""Read one sample out of a Prometheus text exposition."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def sample(exposition: str, name: str, **labels: str) -> float:
    """The value of sample `name` whose labels include `labels`; summed when several match."""
    total, found = 0.0, False
    for family in text_string_to_metric_families(exposition):
        for item in family.samples:
            if item.name == name and all(item.labels.get(k) == v for k, v in labels.items()):
                total += item.value
                found = True
    return total if found else 0.0
