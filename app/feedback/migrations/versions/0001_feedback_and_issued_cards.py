"""Baseline: feedback and issued_cards, as the pre-Alembic releases created them.

Revision ID: 0001
Revises:
Create Date: 2026-11-27

A database made by those releases (tables, no alembic_version) is adopted at this revision by
`benzo-cds db upgrade` instead of being created again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "feedback",
        sa.Column("id", _BigId, primary_key=True, autoincrement=True),
        sa.Column("service_id", sa.String(128), nullable=False),
        sa.Column("card_uuid", sa.String(256), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("accepted_suggestions", sa.JSON, nullable=True),
        sa.Column("override_code", sa.String(256), nullable=True),
        sa.Column("override_system", sa.String(1024), nullable=True),
        sa.Column("override_display", sa.String(1024), nullable=True),
        sa.Column("override_comment", sa.Text, nullable=True),
        sa.Column("outcome_timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint(
            "service_id", "card_uuid", "outcome", "outcome_timestamp", name="uq_feedback_item"
        ),
    )
    op.create_index("ix_feedback_card_uuid", "feedback", ["card_uuid"])
    op.create_table(
        "issued_cards",
        sa.Column("card_uuid", sa.String(256), primary_key=True),
        sa.Column("service_id", sa.String(128), nullable=False),
        sa.Column("rule_id", sa.String(128), nullable=False),
        sa.Column("patient_key", sa.String(64), nullable=False),
        sa.Column("drugs_key", sa.String(1024), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_issued_cards_patient_key", "issued_cards", ["patient_key"])


def downgrade() -> None:
    op.drop_table("issued_cards")
    op.drop_table("feedback")
