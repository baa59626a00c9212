"""Demo couples are marked synthetic: ``couples.synthetic`` (false for every existing couple).

``mutuality demo`` creates its couples with ``synthetic`` true and never touches a couple
without it, so a practice's real couple that happens to be called D001 is never changed.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # Existing couples are not marked: nobody can tell now which were the demo's.
    with op.batch_alter_table("couples") as batch:
        batch.add_column(
            sa.Column("synthetic", sa.Boolean, nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("couples") as batch:
        batch.drop_column("synthetic")
