"""Schema migrations with Alembic: which revision a store is at, and bringing it to the newest.

The migrations are Python files in ``mutuality_helpers/migrations/versions/``, shipped inside
the package (found with :func:`config.packaged`, so they work from an installed wheel),
written with Alembic's portable operations (SQLite and PostgreSQL alike).

A store records its revision in Alembic's ``alembic_version`` table. One made before Alembic
(release 0.1) has none; it holds ``meta.schema_version = 1`` and exactly the tables of revision
``0001``, so :func:`upgrade` stamps it ``0001`` and then upgrades it in place like any other.
A store at a revision this release does not know was written by a newer release: refused.

Opening a store that is already current costs no Alembic import at all: the revision read
from the file is compared with :data:`~mutuality_helpers.schema.SCHEMA_REVISION` (a test keeps
that constant equal to the newest migration).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

from . import config
from .exceptions import StoreError
from .schema import SCHEMA_REVISION

#: What :func:`recorded_revision` returns for a store made before Alembic (release 0.1).
LEGACY = "meta.schema_version 1"
#: The revision a release-0.1 store matches, table for table.
BASELINE = "0001"
#: ``meta.schema_version`` of release 0.1, the last release that kept it by hand.
LEGACY_SCHEMA_VERSION = 1

Rows = Callable[[str], list[Any]]


def migrations_dir() -> Path:
    """The folder of Alembic's environment and revisions, inside the installed package."""
    return config.packaged("migrations")


def looks_like_a_store(tables: Iterable[str]) -> bool:
    """Does a database with these tables belong to the workbook (any revision)?"""
    names = set(tables)
    return "answers" in names and bool({"alembic_version", "meta"} & names)


def recorded_revision(tables: Iterable[str], rows: Rows, where: str) -> str:
    """The revision a store records: Alembic's, or :data:`LEGACY` for a release-0.1 store.

    Parameters
    ----------
    tables
        The database's table names (it :func:`looks_like_a_store`).
    rows
        Runs one SQL query and returns its rows.
    where
        The store's file or URL, for messages.

    Raises
    ------
    StoreError
        When no usable revision is recorded, or a release-0.1 marker from a newer release.
    """
    if "alembic_version" in set(tables):
        found = [str(r[0]) for r in rows("SELECT version_num FROM alembic_version")]
        if len(found) != 1 or not found[0]:
            raise StoreError(f"{where} has no valid schema version; left untouched")
        return found[0]
    found = [str(r[0]) for r in rows("SELECT value FROM meta WHERE key = 'schema_version'")]
    if len(found) != 1 or not found[0].isdigit() or int(found[0]) < LEGACY_SCHEMA_VERSION:
        raise StoreError(f"{where} has no valid schema version; left untouched")
    if int(found[0]) > LEGACY_SCHEMA_VERSION:
        raise _newer(where, found[0])
    return LEGACY


def _newer(where: str, revision: str) -> StoreError:
    return StoreError(
        f"{where} was written by a newer Mutuality Workbook (schema {revision[:40]}); "
        "please upgrade"
    )


def require_known(revision: str | None, where: str) -> None:
    """Refuse a revision this release has no migration for (a newer release wrote it)."""
    if revision in (None, LEGACY, SCHEMA_REVISION):
        return
    if revision not in known_revisions():
        raise _newer(where, str(revision))


@lru_cache(maxsize=1)
def _scripts() -> Any:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(migrations_dir()))


def known_revisions() -> set[str]:
    """Every revision of the shipped migrations."""
    return {script.revision for script in _scripts().walk_revisions()}


def head() -> str:
    """The newest shipped revision (what :data:`SCHEMA_REVISION` must equal)."""
    return str(_scripts().get_current_head())


def _config(connection: Any) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.attributes["connection"] = connection
    return config


def upgrade(connection: Any, where: str) -> None:
    """Bring the store on ``connection`` to :data:`SCHEMA_REVISION`, inside its transaction.

    ``connection`` is a SQLAlchemy connection in the store's write transaction (which holds
    the lock), so the revision read here is the one the migrations start from, and a crash
    leaves the store at its old revision, unchanged. An empty database gets every
    migration; a current one nothing.

    Raises
    ------
    StoreError
        For a foreign database, no usable revision, or one written by a newer release.
    """
    import sqlalchemy as sa

    tables = sa.inspect(connection).get_table_names()
    revision: str | None = None
    if tables:
        if not looks_like_a_store(tables):
            raise StoreError(f"{where} holds other tables, not a Mutuality store; left untouched")
        revision = recorded_revision(
            tables, lambda sql: connection.exec_driver_sql(sql).fetchall(), where
        )
        require_known(revision, where)
    if revision == SCHEMA_REVISION:
        return
    from alembic import command

    config = _config(connection)
    if revision == LEGACY:
        command.stamp(config, BASELINE)
    command.upgrade(config, SCHEMA_REVISION)


def new_revision(message: str) -> Path:
    """Write a new, empty migration after the newest one (for developers); returns its file.

    Then fill in ``upgrade()``/``downgrade()``, update the tables in ``schema.py`` and set
    :data:`~mutuality_helpers.schema.SCHEMA_REVISION` to the new revision.
    """
    from alembic import command

    number = f"{max(int(r) for r in known_revisions()) + 1:04d}"
    config = _config(None)
    script = command.revision(config, message, rev_id=number)
    return Path(script.path)  # type: ignore[union-attr]


if __name__ == "__main__":  # python -m mutuality_helpers.migrate "what the change does"
    import sys

    print(new_revision(" ".join(sys.argv[1:]) or "schema change"))
