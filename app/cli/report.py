"""`benzo-cds feedback-report`: acceptance and override rates per rule from the feedback store."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from app.config import Settings, get_settings
from app.feedback.db import make_engine
from app.feedback.store import FeedbackStore

_SECRET_QUERY_WORDS = ("pass", "secret", "token", "key")


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def safe_url(url: URL) -> str:
    """The database URL without user, password or secret-looking query values."""
    query = {
        k: v
        for k, v in url.query.items()
        if not any(word in k.lower() for word in _SECRET_QUERY_WORDS)
    }
    # URL.set() treats None as "keep": clear the credentials with the tuple's _replace.
    return (
        url.set(query=query)
        ._replace(username=None, password=None)
        .render_as_string(hide_password=True)
    )


def sqlite_file(url: URL) -> Path | None:
    """The SQLite database file (absolute), or None for other databases and in-memory ones."""
    if not url.get_backend_name() == "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database).resolve()


def describe(settings: Settings) -> tuple[str, Path | None]:
    """What to tell the user about the configured store: its safe URL and SQLite file."""
    url = make_url(settings.database_url)
    return safe_url(url), sqlite_file(url)


async def run_report(*, as_json: bool = False) -> int:
    """0 with the report; 1 when the configured store cannot be read (it says which store)."""
    settings = get_settings()
    try:
        shown, database_file = describe(settings)
    except ArgumentError:
        print(
            "benzo-cds feedback-report: BENZO_CDS_DATABASE_URL is not a database URL",
            file=sys.stderr,
        )
        return 2
    where = f"{shown} ({database_file})" if database_file else shown
    # A missing SQLite file means the service ran elsewhere: say so, do not create an empty one.
    if database_file is not None and not database_file.is_file():
        print(
            f"benzo-cds feedback-report: no feedback database at {database_file} "
            f"(BENZO_CDS_DATABASE_URL={shown}; a relative path is read from the current "
            "folder): run it where the service runs, or set BENZO_CDS_DATABASE_URL",
            file=sys.stderr,
        )
        return 1
    try:
        engine = make_engine(settings)
    except ImportError as error:
        print(
            f"benzo-cds feedback-report: the database driver for {shown} is not installed "
            f"({error.name}; for PostgreSQL: pip install '.[postgres]')",
            file=sys.stderr,
        )
        return 1
    try:
        # Read only: no store.init(), which would create or upgrade the schema.
        stats = await FeedbackStore(engine, settings).report()
    except (SQLAlchemyError, OSError) as error:
        # The error text can echo connection details: name the type only.
        print(
            f"benzo-cds feedback-report: cannot read the feedback store {where}: "
            f"{type(error).__name__} (check that it is the service's database and that "
            "`benzo-cds db current` finds it up to date)",
            file=sys.stderr,
        )
        return 1
    finally:
        await engine.dispose()
    if as_json:
        print(f"benzo-cds feedback-report: feedback store {where}", file=sys.stderr)
        print(json.dumps([s.as_dict() for s in stats], indent=2))
        return 0
    print(f"Feedback store: {where}")
    if not stats:
        print("No cards issued and no feedback stored yet.")
        return 0
    print(
        f"{'rule':<32} {'issued':>7} {'silent':>7} {'accepted':>9} {'overridden':>11} "
        f"{'accept %':>9} {'override %':>11} {'dismissed':>10}  top override reasons"
    )
    for s in stats:
        reasons = ", ".join(
            f"{code} ({n})"
            for code, n in sorted(s.override_reasons.items(), key=lambda kv: -kv[1])[:3]
        )
        print(
            f"{s.rule_id:<32} {s.issued:>7} {s.silent:>7} {s.accepted:>9} {s.overridden:>11} "
            f"{_pct(s.acceptance_rate):>9} {_pct(s.override_rate):>11} {s.dismissed:>10}  "
            f"{reasons or '-'}"
        )
    print(
        "issued: distinct cards shown; silent: distinct cards of rules in silent mode "
        "(evaluated, never shown)."
    )
    print("dismissed: overridden with no reason (a plain Dismiss); recorded, snoozes nothing.")
    return 0
