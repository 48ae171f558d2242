"""Alembic migrations for every table; `benzo-cds db upgrade` runs them (see ../migrate.py)."""
