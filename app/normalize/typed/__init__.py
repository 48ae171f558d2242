"""The typed fast path: hook bodies decoded by msgspec into only the fields the rules read.

``decode`` -> ``read_chart`` (envelope and prefetch, no I/O) -> ``build_record``; any step raises
``NotFast`` when the body needs the lenient reader (app/normalize, app/fhir/gather.py).
"""

from app.normalize.typed.chart import Chart, NotFast, decode, read_chart
from app.normalize.typed.record import build_record

__all__ = ["Chart", "NotFast", "build_record", "decode", "read_chart"]
