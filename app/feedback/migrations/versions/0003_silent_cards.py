"""silent_cards: cards of rules in silent mode (evaluated, never shown), once per card uuid.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27

Read by `benzo-cds feedback-report` beside issued_cards (app/feedback/silent.py); the patient is
a keyed hash, as in issued_cards.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "silent_cards",
        sa.Column("card_uuid", sa.String(256), primary_key=True),
        sa.Column("service_id", sa.String(128), nullable=False),
        sa.Column("rule_id", sa.String(128), nullable=False),
        sa.Column("indicator", sa.String(16), nullable=False),
        sa.Column("patient_key", sa.String(64), nullable=False),
        sa.Column("drugs_key", sa.String(1024), nullable=False),
        sa.Column("first_fired_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_silent_cards_rule_id", "silent_cards", ["rule_id"])


def downgrade() -> None:
    op.drop_table("silent_cards")
