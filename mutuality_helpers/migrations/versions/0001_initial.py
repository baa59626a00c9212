"""The schema of release 0.1: couples, answers with history, seasons, sessions, meta.

A store made before Alembic has exactly these tables (and ``meta.schema_version = 1``); it is
stamped with this revision instead of running it.

Revision ID: 0001
Revises:
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "meta",
        sa.Column("key", sa.String, primary_key=True),
        sa.Column("value", sa.String, nullable=False),
    )
    op.create_table(
        "couples",
        sa.Column("couple_id", sa.String, primary_key=True),
        sa.Column("name_a", sa.String, nullable=False, server_default=""),
        sa.Column("name_b", sa.String, nullable=False, server_default=""),
        sa.Column("created_at", sa.String, nullable=False),
    )
    op.create_table(
        "answers",
        sa.Column("couple_id", sa.String, primary_key=True),
        sa.Column("partner", sa.String(1), primary_key=True),
        sa.Column("week", sa.String(10), primary_key=True),
        sa.Column("item", sa.String, primary_key=True),
        sa.Column("value", sa.String, nullable=False),
        sa.Column("value_num", sa.Float, nullable=True),
        sa.Column("instrument", sa.String, nullable=False),
        sa.Column("saved_at", sa.String, nullable=False),
        sa.Column("source", sa.String, nullable=False),
    )
    op.create_table(
        "answer_history",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("couple_id", sa.String, nullable=False),
        sa.Column("partner", sa.String(1), nullable=False),
        sa.Column("week", sa.String(10), nullable=False),
        sa.Column("item", sa.String, nullable=False),
        sa.Column("value", sa.String, nullable=False),
        sa.Column("saved_at", sa.String, nullable=False),
        sa.Column("source", sa.String, nullable=False),
        sa.Column("replaced_at", sa.String, nullable=False),
    )
    op.create_index("ix_answer_history_couple_id", "answer_history", ["couple_id"])
    op.create_table(
        "seasons",
        sa.Column("season_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("couple_id", sa.String, nullable=False),
        sa.Column("partner", sa.String(1), nullable=False),
        sa.Column("reason", sa.String, nullable=False),
        sa.Column("start", sa.String(10), nullable=False),
        sa.Column("planned_end", sa.String(10), nullable=False),
        sa.Column("agreed", sa.Boolean, nullable=False),
        sa.Column("note", sa.String, nullable=False, server_default=""),
        sa.Column("closed_on", sa.String(10), nullable=True),
        sa.Column("saved_at", sa.String, nullable=False),
        sa.Column("source", sa.String, nullable=False),
        sa.UniqueConstraint("couple_id", "partner", "reason", "start"),
    )
    op.create_index("ix_seasons_couple_id", "seasons", ["couple_id"])
    op.create_table(
        "sessions",
        sa.Column("couple_id", sa.String, primary_key=True),
        sa.Column("number", sa.Integer, primary_key=True),
        sa.Column("date", sa.String(10), nullable=False),
        sa.Column("notes", sa.String, nullable=False, server_default=""),
        sa.Column("agreements", sa.String, nullable=False, server_default=""),
        sa.Column("saved_at", sa.String, nullable=False),
    )
    meta = sa.table("meta", sa.column("key", sa.String), sa.column("value", sa.String))
    op.bulk_insert(meta, [{"key": "schema_version", "value": "1"}])


def downgrade() -> None:
    for table in ("sessions", "seasons", "answer_history", "answers", "couples", "meta"):
        op.drop_table(table)
