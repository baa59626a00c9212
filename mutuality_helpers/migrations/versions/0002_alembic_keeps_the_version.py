"""Alembic's revision replaces ``meta.schema_version`` as the store's version.

The row stays, frozen at ``2``: release 0.1 reads nothing else, and so refuses this store
("written by a newer Mutuality Workbook") instead of misreading it. Nothing reads or bumps it
any more; a new schema change is a new revision file here.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


META = sa.table("meta", sa.column("key", sa.String), sa.column("value", sa.String))


def _set(value: str) -> None:
    op.execute(META.update().where(META.c.key == "schema_version").values(value=value))


def upgrade() -> None:
    _set("2")


def downgrade() -> None:
    _set("1")
