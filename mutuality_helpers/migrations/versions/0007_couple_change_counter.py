"""A change counter per couple, and the reports rendered at which count.

``couples.change_count`` is raised by every write that changes the couple's clinical record
(answers, seasons, sessions, alerts, display names), in the write's own transaction.
``reports`` records, per session report in the couple's report folder, the count read when
its render started and the file the render wrote. A report is current only while the couple's
count is still the recorded one and the file is still the one written: a change that lands
while a report renders leaves that report due, whatever the file times say.

Reports rendered before this revision have no row, so each counts as due once and is
rendered again by the next ``mutuality report --all``: whether they were rendered before or
after the couple's last change cannot be known from file times (that was the flaw).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("couples") as batch:
        batch.add_column(sa.Column("change_count", sa.Integer, nullable=False, server_default="0"))
    op.create_table(
        "reports",
        sa.Column("couple_id", sa.String, primary_key=True),
        sa.Column("number", sa.Integer, primary_key=True),
        sa.Column("change_count", sa.Integer, nullable=False),
        sa.Column("file", sa.String, nullable=False),
        sa.Column("rendered_at", sa.String, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("reports")
    with op.batch_alter_table("couples") as batch:
        batch.drop_column("change_count")
