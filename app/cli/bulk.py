"""`benzo-cds evaluate EXPORT_DIR`, terminal side: run the dry run, say what it found and wrote."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from app.bulk.run import CSV_NAME, HTML_NAME, JSON_NAME, BadArgument, Engine, dry_run
from app.cards import RULES
from app.config import get_settings

_SPARK_MODULES = ("pyspark", "py4j")


def run_bulk(
    folder: Path,
    *,
    date_arg: str = "latest",
    as_json: bool = False,
    out: str = "benzo-dry-run",
    engine: Engine = "local",
    workers: int | None = None,
    reveal_ids: bool = False,
    shortcuts: bool = True,
) -> int:
    """Exit 0 when every patient was evaluated; 1 when some raised (their rows in the CSV name
    where; counted in the report); 2 on a bad argument or a missing Spark install. Any other
    exception is a bug in the run itself and ends it with its traceback."""
    try:
        run = dry_run(
            folder,
            Path(out),
            settings=get_settings(),
            engine=engine,
            date_arg=date_arg,
            reveal_ids=reveal_ids,
            workers=workers,
            shortcuts=shortcuts,
        )
    except BadArgument as error:
        print(f"benzo-cds evaluate: {error}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as error:
        if (error.name or "").split(".")[0] not in _SPARK_MODULES:
            raise  # a module of ours or another dependency: a bug, with its traceback
        print(
            f"benzo-cds evaluate: {error.name} is not installed; "
            "pip install 'benzo-safety-cds[spark]' for --engine spark",
            file=sys.stderr,
        )
        return 2
    status = _failures(run.reading["failed_patients"])
    summary = run.summary
    if as_json:
        print(
            json.dumps(
                {"summary": summary.as_dict(), "reading": run.reading, "run": run.meta}, indent=2
            )
        )
        return status
    print(
        f"{summary.patients:,} patients evaluated, {summary.with_cards:,} with a card "
        f"({run.meta['seconds']} s, {run.meta['engine']})"
    )
    print(f"{'rule':<32} {'mode':<7} {'patients':>9} {'per 1,000':>10}")
    for rule in RULES:
        count = sum(n for (r, _, _), n in summary.cards.items() if r == rule)
        print(
            f"{rule:<32} {run.meta['rule_modes'][rule]:<7} {count:>9} "
            f"{summary.per_thousand(rule):>10.1f}"
        )
    skipped = run.reading["malformed_lines"] + sum(run.reading["without_patient"].values())
    print(
        f"\n{run.reading['lines']:,} lines read, {skipped:,} skipped "
        f"({run.reading['malformed_lines']:,} malformed)"
    )
    for name in (CSV_NAME, HTML_NAME, JSON_NAME):
        print(f"wrote {run.out / name}")
    return status


def _failures(failed: dict[str, int]) -> int:
    """1 and one stderr line per code line when patients could not be evaluated, else 0."""
    if not failed:
        return 0
    print(
        f"benzo-cds evaluate: {sum(failed.values()):,} patients could not be evaluated (a bug; "
        "their CSV rows have an 'error' column):",
        file=sys.stderr,
    )
    for site, count in failed.items():
        print(f"  {count:>7,}  {site}", file=sys.stderr)
    return 1
