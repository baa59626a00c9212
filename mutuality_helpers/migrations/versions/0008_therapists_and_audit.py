"""Therapists and the audit trail: ``couples.therapist`` and the append-only ``audit`` table.

Each couple belongs to a therapist (a name of the data folder's ``users.yaml``); couples made
before this revision belong to nobody yet, so only a supervisor sees them until assigned
(``mutuality assign``). Every read and write of a couple's clinical data appends an entry to
``audit``: who, when, which couple, what action.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # batch: SQLite adds a column in place, PostgreSQL through ALTER TABLE, both from one op.
    with op.batch_alter_table("couples") as batch:
        batch.add_column(sa.Column("therapist", sa.String, nullable=True))
    op.create_index("ix_couples_therapist", "couples", ["therapist"])
    op.create_table(
        "audit",
        sa.Column("entry_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.String, nullable=False),
        sa.Column("who", sa.String, nullable=False),
        sa.Column("role", sa.String, nullable=False),
        sa.Column("couple_id", sa.String, nullable=True),
        sa.Column("action", sa.String, nullable=False),
        sa.Column("detail", sa.String, nullable=False, server_default=""),
    )
    op.create_index("ix_audit_couple_id", "audit", ["couple_id"])


def downgrade() -> None:
    op.drop_index("ix_audit_couple_id", "audit")
    op.drop_table("audit")
    op.drop_index("ix_couples_therapist", "couples")
    with op.batch_alter_table("couples") as batch:
        batch.drop_column("therapist")
