"""A PostgreSQL store's own tools: backup and restore with ``pg_dump``/``pg_restore``, erasure.

What :mod:`~mutuality_helpers.backup` and :mod:`~mutuality_helpers.erase` do for a server
store (``--store URL`` / ``MUTUALITY_STORE``), with the same promises:

- :func:`dump` writes a custom-format ``pg_dump`` (one consistent snapshot; writers go on
  saving) to ``<name>.partial`` and renames it to ``<data>/backups/<stem>-<time>.pgdump``
  only once ``pg_restore --list`` has read it back whole and found the store's tables;
  a failed or interrupted backup leaves no file that looks complete. Dumps are not
  compressed, so erasure's scan of the data folder can see a couple in them.
- :func:`describe_dump` proves a file is a dump of a Mutuality store and says what it holds
  (couples, answers, schema revision), without changing anything: shown before a restore.
- :func:`restore` backs the current database up first, then holds the store's write lock
  (the advisory lock of :mod:`~mutuality_helpers.database`) while ``pg_restore --clean
  --single-transaction`` replaces the tables: writers wait and then save on top of the
  restored content, readers see the old store or the restored one, never a mixture, and a
  failed restore changes nothing.
- :func:`erase_rows` deletes a couple from every table with a ``couple_id`` in one
  transaction, then ``VACUUM`` s the tables it touched, so no dead tuple keeps the rows.

The programs are found on ``PATH`` (Debian: ``postgresql-client``), else in the newest
``/usr/lib/postgresql/*/bin``. The password never appears on a command line (``PGPASSWORD``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from .exceptions import StoreError

DUMP_SUFFIX = ".pgdump"
#: Tables a dump must hold to be a Mutuality store's.
STORE_TABLES = ("alembic_version", "answers", "couples")
#: The longest a dump or restore may take before it is stopped (and nothing is changed).
TOOL_TIMEOUT_S = 3600
_PG_LIB = Path("/usr/lib/postgresql")


def tool(name: str) -> str:
    """The path of ``pg_dump``/``pg_restore``; a one-line :class:`StoreError` when missing."""
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(
        (p for p in _PG_LIB.glob(f"*/bin/{name}") if p.parent.parent.name.isdigit()),
        key=lambda p: int(p.parent.parent.name),
    )
    if versions:
        return str(versions[-1])
    raise StoreError(
        f"{name} not found: install PostgreSQL's client programs (Debian: postgresql-client)"
    )


def _connection(url: str) -> tuple[list[str], dict[str, str]]:
    """``--dbname`` and the environment for a PostgreSQL program (password in PGPASSWORD)."""
    parsed = sa.engine.make_url(url)
    args = ["--dbname", str(parsed.database or "postgres"), "--no-password"]
    if parsed.host:
        args += ["--host", str(parsed.host)]
    if parsed.port:
        args += ["--port", str(parsed.port)]
    if parsed.username:
        args += ["--username", str(parsed.username)]
    env = dict(os.environ)
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
    return args, env


def _run(command: list[str], env: dict[str, str], what: str) -> str:
    try:
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        raise StoreError(f"{what} took longer than {TOOL_TIMEOUT_S} s and was stopped") from None
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        reason = " ".join(lines[0].split()) if lines else f"exit code {done.returncode}"
        raise StoreError(f"{what} failed: {reason}")
    return done.stdout


# -- backup ---------------------------------------------------------------------------------


def dump(url: str, target: Path) -> None:
    """``pg_dump`` the store at ``url`` into ``target`` (complete-then-rename, checked).

    ``target`` must exist already (an owner-only placeholder, see :mod:`.backup`); it is
    replaced by the checked dump, or left for the caller to remove on failure.
    """
    partial = target.with_name(target.name + ".partial")
    fd = os.open(partial, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(fd)
    try:
        args, env = _connection(url)
        _run(
            [
                tool("pg_dump"),
                *args,
                "--format=custom",
                "--compress=0",
                "--no-owner",
                "--no-privileges",
                f"--file={partial}",
            ],  # fmt: skip
            env,
            "pg_dump",
        )
        describe_dump(partial)  # read back whole: a dump that cannot be listed is no backup
        os.chmod(partial, 0o600)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


@dataclass(frozen=True)
class DumpContents:
    """What a dump holds (shown before a restore)."""

    path: Path
    database: str
    dumped_at: str
    revision: str
    couples: int
    answers: int

    def __str__(self) -> str:
        return (
            f"{self.path}: PostgreSQL backup of {self.database} made {self.dumped_at}, "
            f"{self.couples} couple(s), {self.answers} answer(s), schema {self.revision}"
        )


def _copy_rows(sql: str, table: str) -> list[str]:
    """The data lines of ``COPY public.<table> ... FROM stdin;`` in a restore script."""
    match = re.search(
        rf"^COPY (?:public\.)?\"?{table}\"? .*?FROM stdin;\n(.*?)^\\\.$", sql, re.M | re.S
    )
    return [] if match is None else [line for line in match.group(1).splitlines() if line]


def describe_dump(path: str | os.PathLike[str]) -> DumpContents:
    """Prove ``path`` is a readable dump of a Mutuality store and say what it holds.

    Raises
    ------
    StoreError
        For a file ``pg_restore`` cannot read whole, or the dump of another database.
    """
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        raise StoreError(f"{path} does not exist or is empty, not a Mutuality backup")
    env = dict(os.environ)
    listing = _run([tool("pg_restore"), "--list", str(path)], env, f"reading {path}")
    tables = set(re.findall(r"TABLE DATA \S+ (\S+) ", listing))
    missing = [t for t in STORE_TABLES if t not in tables]
    if missing:
        raise StoreError(f"{path} is a PostgreSQL dump but not of a Mutuality store; left alone")
    database = re.search(r"^;\s+dbname: (.*)$", listing, re.M)
    stamp = re.search(r"^;\s+Archive created at (.*)$", listing, re.M)
    # The data of the tables we count, as pg_restore would load it (reads the whole file).
    script = _run(
        [tool("pg_restore"), "--data-only", "--file=-", "--table=alembic_version",
         "--table=couples", "--table=answers", str(path)],
        env,
        f"reading {path}",
    )  # fmt: skip
    revisions = _copy_rows(script, "alembic_version")
    if len(revisions) != 1:
        raise StoreError(f"{path} has no valid schema version; left alone")
    return DumpContents(
        path=path,
        database=database.group(1).strip() if database else "?",
        dumped_at=stamp.group(1).strip() if stamp else "?",
        revision=revisions[0].strip(),
        couples=len(_copy_rows(script, "couples")),
        answers=len(_copy_rows(script, "answers")),
    )


# -- restore --------------------------------------------------------------------------------


def restore(url: str, source: Path) -> None:
    """Replace the tables of the store at ``url`` with the dump ``source``, in one transaction.

    The store's write lock is held (a session-level advisory lock on its own connection)
    for the whole restore, so no save lands half-way; ``pg_restore --single-transaction``
    makes it all or nothing.
    """
    from .database import WRITE_LOCK_KEY

    args, env = _connection(url)
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as lock:
            lock.exec_driver_sql(f"SELECT pg_advisory_lock({WRITE_LOCK_KEY})")
            lock.commit()
            try:
                _run(
                    [
                        tool("pg_restore"),
                        *args,
                        "--clean",
                        "--if-exists",
                        "--single-transaction",
                        "--exit-on-error",
                        "--no-owner",
                        "--no-privileges",
                        str(source),
                    ],  # fmt: skip
                    env,
                    f"restoring {source}",
                )
            finally:
                lock.exec_driver_sql(f"SELECT pg_advisory_unlock({WRITE_LOCK_KEY})")
                lock.commit()
    except sa.exc.OperationalError as exc:
        raise StoreError(f"restore failed: {' '.join(str(exc.orig).split())}") from None
    finally:
        engine.dispose()


# -- erasure --------------------------------------------------------------------------------


def couple_tables(conn: Any) -> list[str]:
    """Every table of the store with a ``couple_id`` column (tables added later too)."""
    inspector = sa.inspect(conn)
    return [
        t
        for t in sorted(inspector.get_table_names())
        if any(c["name"] == "couple_id" for c in inspector.get_columns(t))
    ]


def tombstone(conn: Any, couple_id: str) -> int:
    """Record ``couple_id`` as erased (inside the erasing transaction), as SQLite's erase does.

    Only where the couple is known (its row, or a tombstone already): erasing an id never
    used tombstones nothing. Keeps the highest link generation the couple had, so a couple
    made again under the id (``mutuality reuse``) starts above it. Returns it (0: none).
    """
    from .schema import couples_table, erased_table
    from .store_answers import erased_digest, now_iso

    c, e_t = couples_table, erased_table
    digest = erased_digest(couple_id)
    current = conn.execute(
        sa.select(c.c.link_generation_a, c.c.link_generation_b).where(c.c.couple_id == couple_id)
    ).first()
    old = conn.execute(
        sa.select(e_t.c.link_generation).where(e_t.c.id_digest == digest).with_for_update()
    ).scalar()
    if current is None and old is None:
        return 0
    generation = max([*(current or ()), old or 0])
    if old is None:
        conn.execute(
            e_t.insert().values(id_digest=digest, erased_at=now_iso(), link_generation=generation)
        )
    else:
        conn.execute(
            e_t.update().where(e_t.c.id_digest == digest).values(link_generation=generation)
        )
    return int(generation)


def erase_rows(store: Any, couple_id: str) -> tuple[dict[str, int], int]:
    """Delete ``couple_id`` from every table in one transaction; VACUUM the tables touched.

    In the same transaction the id is tombstoned (:func:`tombstone`): a late save for it is
    refused until ``mutuality reuse``. VACUUM runs after the commit (it cannot run inside a
    transaction): it removes the dead tuples the deletion left, so no page keeps the
    couple's rows as dead tuples. Returns the deleted row counts and the tombstone's link
    generation (0: none).
    """
    counts: dict[str, int] = {}
    with store.atomic() as conn:
        generation = tombstone(conn, couple_id)
        for table in couple_tables(conn):
            result = conn.execute(
                sa.text(f'DELETE FROM "{table}" WHERE couple_id = :couple_id'),
                {"couple_id": couple_id},
            )
            counts[table] = int(result.rowcount)
    # Nothing deleted (a second run after a failed VACUUM): every couple table, to finish.
    touched = [t for t, n in counts.items() if n] or list(counts)
    if touched:
        try:
            with store.engine.connect() as conn:
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
                for table in touched:
                    conn.exec_driver_sql(f'VACUUM (ANALYZE) "{table}"')
        except sa.exc.OperationalError as exc:
            raise StoreError(
                f"{couple_id} was deleted, but VACUUM failed ({' '.join(str(exc.orig).split())});"
                f" run 'mutuality erase {couple_id} --yes' again"
            ) from None
    return counts, generation
