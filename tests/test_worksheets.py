"""`mutuality worksheet`: personalised notebooks, parameters injected, owner-only."""

from __future__ import annotations

import os
import stat

import nbformat
import pytest

from mutuality_helpers.cli import main
from mutuality_helpers.exceptions import ParameterError, UnknownCouple
from mutuality_helpers.worksheets import write_worksheet


@pytest.fixture
def couple_store(store):
    store.add_couple("C001")
    return store


def injected(path):
    nb = nbformat.read(path, as_version=4)
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    params = tags.index(["parameters"])
    assert tags[params + 1] == ["injected-parameters"]  # papermill's place for it
    namespace: dict = {}
    exec(nb.cells[params + 1].source, namespace)  # noqa: S102 -- our own literal assignments
    return nb, {k: v for k, v in namespace.items() if not k.startswith("__")}


@pytest.mark.parametrize(
    "instrument, week, name",
    [
        ("weekly_checkin", "2026-11-16", "C001-A-weekly_checkin-2026-11-16.ipynb"),
        ("weekly_checkin", None, "C001-A-weekly_checkin-any-week.ipynb"),
        ("mutuality_inventory", None, "C001-A-mutuality_inventory-any-week.ipynb"),
    ],
)
def test_worksheet_has_the_parameters_injected(couple_store, data_dir, instrument, week, name):
    path = write_worksheet(couple_store, "C001", "A", week, instrument)
    assert path == data_dir / "worksheets" / name
    nb, params = injected(path)
    assert params == {
        "couple_id": "C001",
        "partner": "A",
        "week": week,
        "data_dir": str(data_dir.resolve()),
    }
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    assert "papermill" not in nb.metadata


def test_worksheet_is_owner_only_whatever_the_umask(couple_store, data_dir):
    old = os.umask(0o000)
    try:
        path = write_worksheet(couple_store, "C001", "B")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_rewriting_a_worksheet_replaces_it(couple_store):
    first = write_worksheet(couple_store, "C001", "A", "2026-11-16")
    first.write_text("stale")
    again = write_worksheet(couple_store, "C001", "A", "2026-11-16")
    assert again == first
    nbformat.read(again, as_version=4)


@pytest.mark.parametrize(
    "args, error, fragment",
    [
        (("C001", "C", None, "weekly_checkin"), ParameterError, "parameter partner"),
        (("C001", "A", "2026-11-17", "weekly_checkin"), ParameterError, "named by its Monday"),
        (("C001", "A", None, "intake"), ParameterError, "unknown worksheet"),
        (("../etc", "A", None, "weekly_checkin"), ParameterError, "couple id"),
        (("C404", "A", None, "weekly_checkin"), UnknownCouple, "C404"),
    ],
)
def test_bad_parameters_write_nothing(couple_store, data_dir, args, error, fragment):
    with pytest.raises(error, match=fragment):
        write_worksheet(couple_store, *args)
    assert not (data_dir / "worksheets").exists()


def test_cli_prints_the_path(couple_store, data_dir, capsys):
    code = main(
        ["worksheet", "C001", "--partner", "B", "--week", "2026-11-09", "--data", str(data_dir)]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    path = data_dir / "worksheets" / "C001-B-weekly_checkin-2026-11-09.ipynb"
    assert out.strip() == str(path)
    assert injected(path)[1]["partner"] == "B"


def test_cli_error_is_one_line(couple_store, data_dir, capsys):
    code = main(["worksheet", "C001", "--partner", "Z", "--data", str(data_dir)])
    out, err = capsys.readouterr()
    assert code == 1
    assert err.count("\n") == 1 and "partner 'Z' must be A or B" in err
