"""Sessions kept with their history, and the workbook's unsaved notes.

``session_history`` keeps every prior version of a session (``change = "edited"``) and every
deleted session (``change = "deleted"``): a session's date, notes and agreements as they were,
and when they stopped being current. ``session_drafts`` keeps what a therapist typed into the
session workbook's notes and agreements until it is saved into the session (``number`` 0: the
notes of the session not recorded yet).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "session_history",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("couple_id", sa.String, nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("date", sa.String(10), nullable=False),
        sa.Column("notes", sa.String, nullable=False, server_default=""),
        sa.Column("agreements", sa.String, nullable=False, server_default=""),
        sa.Column("saved_at", sa.String, nullable=False),
        sa.Column("change", sa.String, nullable=False),
        sa.Column("changed_at", sa.String, nullable=False),
        sa.Column("source", sa.String, nullable=False, server_default=""),
    )
    op.create_index("ix_session_history_couple_id", "session_history", ["couple_id"])
    op.create_table(
        "session_drafts",
        sa.Column("couple_id", sa.String, primary_key=True),
        sa.Column("number", sa.Integer, primary_key=True),
        sa.Column("notes", sa.String, nullable=False, server_default=""),
        sa.Column("agreements", sa.String, nullable=False, server_default=""),
        sa.Column("saved_at", sa.String, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("session_drafts")
    op.drop_index("ix_session_history_couple_id", "session_history")
    op.drop_table("session_history")
