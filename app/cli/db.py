"""`benzo-cds db upgrade|current`: the database schema, by Alembic, for the configured database."""

from __future__ import annotations

from sqlalchemy.engine import make_url

from app.config import get_settings
from app.feedback import migrate
from app.feedback.availability import DATABASE_ERRORS
from app.feedback.db import make_engine


def shown_url(url: str) -> str:
    """The database URL with any password masked."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparsable URL is shown as nothing but its scheme
        return url.split(":", 1)[0] + ":..."


async def run_db(action: str, *, check: bool = False) -> int:
    """0 on success; 1 when `current --check` finds the schema behind; 2 when unreachable."""
    settings = get_settings()
    where = shown_url(settings.database_url)
    engine = make_engine(settings)
    try:
        if action == "upgrade":
            before, after = await migrate.upgrade(engine)
            if before == after:
                print(f"{where}: already at revision {after}; nothing to do")
            else:
                print(f"{where}: upgraded from {before or 'empty'} to revision {after}")
            return 0
        state = await migrate.schema_state(engine)
    except DATABASE_ERRORS as error:
        print(f"{where}: cannot reach the database ({type(error).__name__})")
        return 2
    finally:
        await engine.dispose()
    print(f"{where}: {state.describe()}")
    if state.behind:
        print(f"run `{migrate.UPGRADE_COMMAND}`")
        return 1 if check else 0
    return 0
