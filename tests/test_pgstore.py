"""The PostgreSQL store on the session's real server: backup/restore, erasure, refusals."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from mutuality_helpers.backup import list_backups
from mutuality_helpers.cli import main
from mutuality_helpers.exceptions import StoreError
from mutuality_helpers.models import make_answer
from mutuality_helpers.store import Store

WEEK = "2026-09-07"


@pytest.fixture
def pg(pg_server, monkeypatch):
    """The tests' database, emptied, named by MUTUALITY_STORE; the server."""
    from conftest import PG_DATABASE, _reset_pg_database

    _reset_pg_database(pg_server, demo=False)
    monkeypatch.setenv("MUTUALITY_STORE", pg_server.url(PG_DATABASE))
    return pg_server


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_backup_and_restore_on_the_server_from_the_command_line(pg, data_dir, capsys, monkeypatch):
    with Store(data_dir) as store:
        assert store.path is None and "***" in store.where
        store.save_answers([make_answer("C001", "A", WEEK, "energy", 3)], "first")
    code, out, err = run(capsys, "backup", "--data", str(data_dir))
    assert code == 0, err
    dump = Path(out.strip())
    assert dump.suffix == ".pgdump" and dump.stat().st_mode & 0o077 == 0
    assert list_backups(data_dir) == [dump]
    assert not list(dump.parent.glob("*.partial"))
    with Store(data_dir) as store:
        store.save_answers([make_answer("C001", "A", "2026-09-14", "energy", 9)], "later")
    # Asked first, with what the dump holds; "no" changes nothing.
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("n\n"))
    code, out, err = run(capsys, "restore", str(dump), "--data", str(data_dir))
    assert code == 1 and "1 couple(s), 1 answer(s)" in err
    with Store(data_dir) as store:
        assert len(store.answers()) == 2
    code, out, err = run(capsys, "restore", str(dump), "--yes", "--data", str(data_dir))
    assert code == 0, err
    assert "before-restore-" in err and "***" in out
    with Store(data_dir) as store:
        assert store.answers()["value"].tolist() == ["3"]
        assert store.answer_history("C001").empty


def test_restore_refuses_an_sqlite_backup_into_the_server(pg, data_dir, tmp_path, capsys):
    other = tmp_path / "laptop"
    import os

    from mutuality_helpers.backup import backup

    url = os.environ.pop("MUTUALITY_STORE")
    with Store(other) as laptop:
        laptop.add_couple("C009")
    sqlite_backup = backup(other)
    os.environ["MUTUALITY_STORE"] = url
    code, _out, err = run(capsys, "restore", str(sqlite_backup), "--yes", "--data", str(data_dir))
    assert code == 1 and "is an SQLite backup" in err and len(err.splitlines()) == 1


def test_restore_refuses_a_file_that_is_not_a_dump(pg, data_dir, tmp_path, capsys):
    bad = tmp_path / "x.pgdump"
    bad.write_bytes(b"PGDMP but nothing else")
    code, _out, err = run(capsys, "restore", str(bad), "--yes", "--data", str(data_dir))
    assert code == 1 and "failed" in err and len(err.splitlines()) == 1


def test_erase_leaves_no_row_and_no_dead_tuple(pg, data_dir):
    from conftest import PG_DATABASE

    with Store(data_dir) as store:
        for couple in ("C001", "C002"):
            store.save_answers(
                [make_answer(couple, "A", WEEK, "energy", n) for n in (3, 4, 5)], "t"
            )
            store.add_session(couple, "2026-09-10", notes="private words")
    code = main(["erase", "C001", "--yes", "--data", str(data_dir)])
    assert code == 0
    with pg.connect(PG_DATABASE) as con:
        con.execute("CREATE EXTENSION IF NOT EXISTS pgstattuple")
        for table in ("answers", "answer_history", "sessions", "couples"):
            left = con.execute(f"SELECT count(*) FROM {table} WHERE couple_id = 'C001'")
            assert left.fetchone()[0] == 0, table
            dead = con.execute(f"SELECT dead_tuple_count FROM pgstattuple('{table}')")
            assert dead.fetchone()[0] == 0, table
    with Store(data_dir) as store:
        assert store.couple_ids() == ["C002"]


def test_erase_names_a_server_backup_that_still_holds_the_couple(pg, data_dir, capsys):
    with Store(data_dir) as store:
        store.save_answers([make_answer("C001", "A", WEEK, "energy", 3)], "t")
    assert main(["backup", "--data", str(data_dir)]) == 0
    dump = Path(capsys.readouterr().out.strip())
    code, _out, err = run(capsys, "erase", "C001", "--yes", "--data", str(data_dir))
    assert code == 1 and str(dump) in err


def test_concurrent_saves_on_the_server_all_land_with_history(pg, data_dir):
    Store(data_dir).close()
    errors: list[BaseException] = []

    def partner(p: str) -> None:
        try:
            with Store(data_dir) as store:
                for value in range(1, 11):
                    store.save_answers([make_answer("C001", p, WEEK, "energy", value)], p)
        except BaseException as exc:  # noqa: BLE001 -- reported below
            errors.append(exc)

    threads = [threading.Thread(target=partner, args=(p,)) for p in ("A", "B")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with Store(data_dir) as store:
        assert sorted(store.answers()["value"]) == ["10", "10"]
        # Every replaced value is kept: 9 per partner, none lost to a race.
        assert len(store.answer_history("C001")) == 18


def test_a_database_with_other_tables_is_refused_untouched(pg_server, tmp_path):
    pg_server.admin("DROP DATABASE IF EXISTS foreign_db", "CREATE DATABASE foreign_db")
    with pg_server.connect("foreign_db") as con:
        con.execute("CREATE TABLE recipes (name text)")
    with pytest.raises(StoreError, match="holds other tables"):
        Store(tmp_path, url=pg_server.url("foreign_db"))
    with pg_server.connect("foreign_db") as con:
        tables = con.execute("SELECT tablename FROM pg_tables WHERE schemaname='public'")
        assert [r[0] for r in tables] == ["recipes"]


def test_a_newer_schema_on_the_server_is_refused(pg, data_dir):
    from conftest import PG_DATABASE

    with pg.connect(PG_DATABASE) as con:
        con.execute("UPDATE alembic_version SET version_num = '9999'")
    try:
        with pytest.raises(StoreError, match="newer Mutuality Workbook"):
            Store(data_dir)
    finally:
        from mutuality_helpers.schema import SCHEMA_REVISION

        with pg.connect(PG_DATABASE) as con:
            con.execute(f"UPDATE alembic_version SET version_num = '{SCHEMA_REVISION}'")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://x@y/z", "must be a postgresql://"),
        ("postgresql://nobody@127.0.0.1:1/none", "could not read the store"),
    ],
)
def test_a_bad_or_unreachable_store_url_is_one_line(url, message, data_dir, capsys):
    code, _out, err = run(capsys, "couples", "--store", url, "--data", str(data_dir))
    assert code == 1 and message in err and len(err.splitlines()) == 1
