"""Schema migrations with Alembic: fresh stores, stores made by release 0.1, newer stores."""

from __future__ import annotations

import sqlite3
from importlib import resources
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from mutuality_helpers import migrate
from mutuality_helpers.exceptions import StoreError
from mutuality_helpers.schema import SCHEMA_REVISION, metadata
from mutuality_helpers.store import Store

RELEASE_0_1 = Path(__file__).with_name("fixtures") / "store-0.1.sql"


def rows(path: Path) -> dict[str, list[tuple]]:
    """Every row of every table but Alembic's, sorted, to compare stores table by table."""
    con = sqlite3.connect(path)
    try:
        names = [
            r[0]
            for r in con.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")
            if r[0] != "alembic_version" and not r[0].startswith("sqlite_")
        ]
        return {n: sorted(con.execute(f'SELECT * FROM "{n}"').fetchall()) for n in names}
    finally:
        con.close()


def release_0_1_store(data: Path) -> Path:
    """A data folder holding the store release 0.1 made (from its committed SQL dump)."""
    data.mkdir(parents=True)
    path = data / "workbook.sqlite"
    con = sqlite3.connect(path)
    con.executescript(RELEASE_0_1.read_text(encoding="utf-8"))
    con.execute("PRAGMA journal_mode=WAL")  # as release 0.1 left its stores
    con.close()
    return path


def test_the_schema_revision_is_the_newest_migration():
    assert migrate.head() == SCHEMA_REVISION
    assert SCHEMA_REVISION in migrate.known_revisions()


def test_the_migrations_build_exactly_the_tables_of_schema_py(store):
    engine = sa.create_engine(f"sqlite:///{store.path}")
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    assert differences == []
    assert store.schema_revision == SCHEMA_REVISION


def test_a_store_made_by_release_0_1_upgrades_in_place_and_keeps_every_row(tmp_path):
    data = tmp_path / "data"
    path = release_0_1_store(data)
    before = rows(path)
    assert before["meta"] == [("schema_version", "1")] and len(before["answers"]) == 6
    with Store(data) as store:
        assert store.schema_revision == SCHEMA_REVISION
        assert store.get_couple("S001")["name_a"] == "Robin"
        assert len(store.answer_history("S001")) == 1
        assert store.seasons("S001")["closed_on"].iloc[0].isoformat()[:10] == "2026-10-05"
        assert store.session("S001", 2)["notes"] == "review"
    after = rows(path)
    # Every row is kept; only the frozen marker for release 0.1 changed. Columns added
    # since (at the end of a row) hold their defaults: both partners' link generation 1.
    assert after["meta"] == [("schema_version", "2")]
    kept = {t: [r[: len(before[t][0])] for r in after[t]] for t in before if before[t]}
    assert kept == {t: r for t, r in before.items() if r} | {"meta": kept["meta"]}
    # Revision 0005's couples.synthetic: no couple of a real store is marked synthetic;
    # revision 0007's change count starts at 0; couples.therapist (0008) is NULL: nobody's
    # couple until a supervisor assigns it.
    assert {r[-5:] for r in after["couples"]} == {(1, 1, 0, 0, None)}
    # Tables added since release 0.1 start empty.
    assert all(r == [] for t, r in after.items() if t not in before)
    # Opening it again changes nothing.
    Store(data).close()
    assert rows(path) == after


def test_an_upgraded_store_takes_new_writes(tmp_path):
    from mutuality_helpers.models import make_answer

    data = tmp_path / "data"
    release_0_1_store(data)
    with Store(data) as store:
        counts = store.save_answers(
            [make_answer("S001", "A", "2026-09-07", "energy", 2)], "form:weekly_checkin"
        )
        assert counts["replaced"] == 1
        assert len(store.answer_history("S001")) == 2


def test_a_newer_store_is_refused_in_one_line_and_left_untouched(tmp_path):
    data = tmp_path / "data"
    with Store(data) as store:
        path = store.path
    con = sqlite3.connect(path)
    con.execute("UPDATE alembic_version SET version_num = '0099'")
    con.commit()
    con.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="newer Mutuality Workbook") as info:
        Store(data)
    assert "\n" not in str(info.value)
    assert path.read_bytes() == before


def test_migrations_go_down_and_up_again(store):
    from alembic import command

    engine = sa.create_engine(f"sqlite:///{store.path}")
    with engine.begin() as conn:
        command.downgrade(migrate._config(conn), "0001")
        assert conn.exec_driver_sql("SELECT value FROM meta").scalar() == "1"
        command.upgrade(migrate._config(conn), "head")
        assert conn.exec_driver_sql("SELECT value FROM meta").scalar() == "2"
    engine.dispose()


def test_a_0006_store_upgrades_and_its_existing_reports_count_as_due(tmp_path, capsys):
    # A report rendered before revision 0007 cannot be told from one rendered while the
    # record changed (file times were all there was): each is due once, then current.
    from alembic import command

    from mutuality_helpers import config
    from mutuality_helpers.models import make_answer

    data = tmp_path / "data"
    with Store(data) as store:
        store.save_answers([make_answer("C001", "A", "2026-11-02", "energy", 5)], "test")
        store.add_session("C001", "2026-11-05")
        path = store.path
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        command.downgrade(migrate._config(conn), "0006")
    engine.dispose()
    pdf = config.report_path("C001", 1, data)
    config.private_dir(pdf.parent)
    pdf.write_bytes(b"%PDF- rendered by revision 0006")
    with Store(data) as store:
        assert store.schema_revision == SCHEMA_REVISION
        assert store.change_count("C001") == 0
        assert store.due_sessions() == [("C001", 1)]
        assert not store.report_is_current("C001", 1)
        # Rendered again (recorded at the count read when it started): current.
        pdf.write_bytes(b"%PDF- rendered by revision 0007")
        store.record_report("C001", 1, store.change_count("C001"), pdf)
        assert store.due_sessions() == [] and store.report_is_current("C001", 1)


def test_the_migrations_ship_inside_the_package():
    folder = resources.files("mutuality_helpers") / "migrations"
    assert Path(str(folder)) == migrate.migrations_dir()
    assert (folder / "env.py").is_file()
    versions = sorted(p.name for p in (folder / "versions").iterdir() if p.name[0].isdigit())
    assert versions[0].startswith("0001_") and len(versions) == len(migrate.known_revisions())
    # The wheel carries them (and Alembic runs them from it): tests/test_wheel.py.
