"""Erased ids are tombstoned; partner links carry a generation.

``erased_couples`` holds a digest of every erased couple id (no content), so a save that
arrives after the erasure is refused instead of bringing the couple back. Each couple gets
one link generation per partner, signed into that partner's links: raising it retires them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "erased_couples",
        sa.Column("id_digest", sa.String(64), primary_key=True),
        sa.Column("erased_at", sa.String, nullable=False),
        sa.Column("link_generation", sa.Integer, nullable=False),
    )
    with op.batch_alter_table("couples") as batch:
        for partner in ("a", "b"):
            batch.add_column(
                sa.Column(
                    f"link_generation_{partner}", sa.Integer, nullable=False, server_default="1"
                )
            )


def downgrade() -> None:
    with op.batch_alter_table("couples") as batch:
        batch.drop_column("link_generation_b")
        batch.drop_column("link_generation_a")
    op.drop_table("erased_couples")
