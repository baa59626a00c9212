"""Alerts that need action: the ``alerts`` table (new, seen by whom and when, resolved with a note).

A private safety answer that signals risk is recorded here when it is saved; a silence alert
when a therapist first marks it. Rows are kept: the record holds every alert and its state.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("alert_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String, nullable=False),
        sa.Column("couple_id", sa.String, nullable=False),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("partner", sa.String(1), nullable=True),
        sa.Column("week", sa.String(10), nullable=True),
        sa.Column("instrument", sa.String, nullable=False, server_default=""),
        sa.Column("answers", sa.String, nullable=False, server_default=""),
        sa.Column("raised_at", sa.String, nullable=False),
        sa.Column("state", sa.String, nullable=False),
        sa.Column("seen_by", sa.String, nullable=True),
        sa.Column("seen_at", sa.String, nullable=True),
        sa.Column("resolved_by", sa.String, nullable=True),
        sa.Column("resolved_at", sa.String, nullable=True),
        sa.Column("note", sa.String, nullable=False, server_default=""),
    )
    op.create_index("ix_alerts_key", "alerts", ["key"])
    op.create_index("ix_alerts_couple_id", "alerts", ["couple_id"])


def downgrade() -> None:
    op.drop_index("ix_alerts_couple_id", "alerts")
    op.drop_index("ix_alerts_key", "alerts")
    op.drop_table("alerts")
