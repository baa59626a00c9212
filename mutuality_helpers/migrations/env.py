"""Alembic's environment: run the migrations on the connection the store hands over.

:func:`mutuality_helpers.migrate.upgrade` puts its open connection, already inside the
store's write transaction, into ``config.attributes["connection"]``; the migrations then
run inside that transaction and Alembic commits nothing itself. Without one (Alembic's own
command line), ``sqlalchemy.url`` names the database.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from mutuality_helpers.schema import metadata


def run(connection: sa.engine.Connection) -> None:
    # Batch mode: SQLite alters a table by copying it; PostgreSQL alters it in place.
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    engine = sa.create_engine(context.config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as opened:
        run(opened)
