"""Schema versions by Alembic: where the database stands, upgrading it, and the start-up check.

The migration scripts ship inside the package (app/feedback/migrations), so a wheel or Docker
install can upgrade its database with `benzo-cds db upgrade` and no alembic.ini.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)
# Alembic announces its context on every check; our own line says what an upgrade did.
logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)

BASELINE = "0001"  # what the pre-Alembic releases created with CREATE TABLE
_PRE_ALEMBIC_TABLES = {"feedback", "issued_cards"}
# Arbitrary constant naming the migration lock, so replicas or workers upgrading together on
# PostgreSQL run the migrations once, one after the other.
_PG_MIGRATION_LOCK = 0x62656E7A6F
UPGRADE_COMMAND = "benzo-cds db upgrade"


class SchemaOutOfDate(RuntimeError):
    """The database schema is older than this release needs."""


@dataclass(frozen=True)
class SchemaState:
    current: str | None  # None: no schema at all
    head: str
    known: bool  # False when the database carries a revision this release has never heard of

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head

    @property
    def behind(self) -> bool:
        """Older than this release (or empty); a newer, unknown revision is not 'behind'."""
        return self.known and not self.up_to_date

    def describe(self) -> str:
        if self.current is None:
            return f"empty (this release needs revision {self.head})"
        if self.up_to_date:
            return f"revision {self.current} (up to date)"
        if not self.known:
            return (
                f"revision {self.current}, newer than this release knows (its newest is "
                f"{self.head})"
            )
        return f"revision {self.current}, behind this release's {self.head}"


@lru_cache(maxsize=1)
def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    return cfg


@lru_cache(maxsize=1)
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    head = _scripts().get_current_head()
    if head is None:  # pragma: no cover - the package always ships migrations
        raise RuntimeError("no migrations found")
    return head


def _current_sync(conn: Connection) -> str | None:
    heads = MigrationContext.configure(conn).get_current_heads()
    if heads:
        return heads[0]
    if _PRE_ALEMBIC_TABLES <= set(inspect(conn).get_table_names()):
        return BASELINE  # made by a pre-Alembic release: the baseline, not yet stamped
    return None


def _state_sync(conn: Connection) -> SchemaState:
    current = _current_sync(conn)
    known = current is None or _is_known(current)
    return SchemaState(current=current, head=head_revision(), known=known)


def _is_known(revision: str) -> bool:
    try:
        return _scripts().get_revision(revision) is not None
    except Exception:  # noqa: BLE001 - alembic raises several kinds for unknown ids
        return False


async def schema_state(engine: AsyncEngine) -> SchemaState:
    """Where the database stands against this release's migrations."""
    async with engine.connect() as conn:
        return await conn.run_sync(_state_sync)


def _upgrade_sync(conn: Connection) -> tuple[str | None, str]:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
    before = _current_sync(conn)
    cfg = alembic_config()
    cfg.attributes["connection"] = conn
    try:
        if before == BASELINE and not MigrationContext.configure(conn).get_current_heads():
            log.info("adopting a database made before migrations existed at revision %s", BASELINE)
            command.stamp(cfg, BASELINE)
        command.upgrade(cfg, "head")
    finally:
        cfg.attributes.pop("connection", None)
    return before, _current_sync(conn) or ""


async def upgrade(engine: AsyncEngine) -> tuple[str | None, str]:
    """Bring the schema to this release's head; returns (revision before, revision after).

    Safe when several processes run it at once: PostgreSQL serializes them with an advisory
    lock, SQLite with a lock file beside the database.
    """
    state = await schema_state(engine)
    if not state.behind:
        return state.current, state.current or ""
    with _sqlite_file_lock(engine):
        async with engine.begin() as conn:
            before, after = await conn.run_sync(_upgrade_sync)
    if before != after:
        log.info("database schema upgraded from %s to revision %s", before or "empty", after)
    return before, after


async def prepare(engine: AsyncEngine, *, environment: str) -> SchemaState:
    """Start-up: development upgrades by itself; production refuses a schema that is behind."""
    state = await schema_state(engine)
    if environment != "production":
        if state.behind:
            _, after = await upgrade(engine)
            state = SchemaState(current=after, head=state.head, known=True)
        return state
    if state.behind:
        raise SchemaOutOfDate(f"database schema is {state.describe()}; run `{UPGRADE_COMMAND}`")
    if not state.known:
        # A newer release migrated first (rolling deploy); migrations only add until the
        # release after, so this one keeps working.
        log.warning("database schema is %s; continuing (rolling deploy?)", state.describe())
    return state


@contextlib.contextmanager
def _sqlite_file_lock(engine: AsyncEngine) -> Iterator[None]:
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: workers must not start together
        yield
        return
    with open(f"{database}.migrate-lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
