"""Therapists and supervisors: who sees which couple, everywhere, and the audit trail of it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from mutuality_helpers import roles
from mutuality_helpers.caseload_table import caseload
from mutuality_helpers.cli import main
from mutuality_helpers.exceptions import AccessDenied, SettingsError, UnknownCouple
from mutuality_helpers.report import plan
from mutuality_helpers.schema import metadata
from mutuality_helpers.store import Store

BENS = ["D001", "D002"]
CHLOES = ["D003", "D004", "D005"]  # D005 has an alert (a partner fallen silent)
USERS = "anna: supervisor\nben: therapist\nchloe: therapist\n"

pytestmark = pytest.mark.usefixtures("backend")


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def write_users(data: Path, text: str = USERS, mode: int = 0o600) -> Path:
    data.mkdir(parents=True, exist_ok=True)  # a PostgreSQL store makes no data folder
    path = data / roles.USERS_FILE
    path.write_text(text, encoding="utf-8")
    os.chmod(path, mode)
    return path


def store_rows(data: Path, audit: bool = True) -> dict[str, list[tuple]]:
    """Every row of every table of the store (of ``audit`` too unless told), as a supervisor."""
    with Store(data, user="anna") as store:
        return {
            t.name: sorted(tuple(map(repr, r)) for r in store.read(sa.select(t)))
            for t in metadata.sorted_tables
            if audit or t.name != "audit"
        }


@pytest.fixture
def practice(demo_data_dir: Path, backend: str) -> Path:
    """The demo couples shared by ben (D001, D002) and chloe (D003-D005); anna supervises."""
    if backend == "postgresql":
        # The couples are in the server's database: the template's SQLite file is not the
        # store here (erase would rightly name it as a file that still mentions a couple).
        for leftover in demo_data_dir.glob("workbook.sqlite*"):
            leftover.unlink()
    write_users(demo_data_dir)
    with Store(demo_data_dir, user="anna") as store:
        for couple in BENS:
            store.assign(couple, "ben")
        for couple in CHLOES:
            store.assign(couple, "chloe")
    return demo_data_dir


# -- who is who ------------------------------------------------------------------------------


def test_without_a_users_file_the_local_user_is_a_supervisor(data_dir, monkeypatch):
    assert roles.identify(data_dir).sees_all
    monkeypatch.setenv("JUPYTERHUB_USER", "ben")
    assert roles.identify(data_dir) == roles.Identity("ben", roles.SUPERVISOR)


def test_the_hub_login_and_as_are_checked_against_the_users_file(practice, monkeypatch):
    assert roles.identify(practice, "ben") == roles.Identity("ben", "therapist")
    with pytest.raises(AccessDenied, match="zoe is not a user of this practice"):
        roles.identify(practice, "zoe")
    monkeypatch.setenv("JUPYTERHUB_USER", "ben")
    assert roles.identify(practice).name == "ben"
    with pytest.raises(AccessDenied, match="a therapist cannot act as anna"):
        roles.identify(practice, "anna")
    monkeypatch.setenv("JUPYTERHUB_USER", "anna")
    assert roles.identify(practice, "ben").name == "ben"  # a supervisor may
    monkeypatch.setenv("JUPYTERHUB_USER", "mallory")
    with pytest.raises(AccessDenied, match="mallory is not a user"):
        roles.identify(practice)


@pytest.mark.parametrize(
    ("text", "mode", "message"),
    [
        (USERS, 0o644, "must be owner-only"),
        ("ben: admin\n", 0o600, "the role must be therapist or supervisor"),
        ("- ben\n", 0o600, "must list the practice's users"),
        ("'ben smith': therapist\n", 0o600, "is not a user name"),
        ("ben: [therapist\n", 0o600, "cannot be read"),
    ],
)
def test_a_bad_users_file_is_refused_in_one_line(capsys, data_dir, text, mode, message):
    with Store(data_dir):
        pass
    write_users(data_dir, text, mode)
    with pytest.raises(SettingsError, match=message):
        roles.read_users(data_dir)
    code, out, err = run(capsys, "couples", "--data", str(data_dir))
    assert code == 1 and out == "" and message in err and len(err.splitlines()) == 1


def test_a_refused_user_gets_one_line_and_changes_nothing(capsys, practice):
    before = store_rows(practice)
    code, _, err = run(capsys, "--as", "zoe", "summary", "D001", "--data", str(practice))
    assert code == 1 and err.startswith("mutuality: zoe is not a user of this practice")
    assert store_rows(practice) == before


def test_only_a_supervisor_assigns(capsys, practice):
    code, _, err = run(capsys, "--as", "ben", "assign", "D003", "ben", "--data", str(practice))
    assert code == 1 and "only a supervisor can assign couples" in err
    code, out, _ = run(capsys, "--as", "anna", "assign", "D003", "ben", "--data", str(practice))
    assert code == 0 and out == "D003: assigned to ben\n"
    code, _, err = run(capsys, "--as", "anna", "assign", "D003", "zoe", "--data", str(practice))
    assert code == 1 and "zoe is not a user of this practice" in err
    with Store(practice, user="ben") as store:
        assert store.couple_ids() == ["D001", "D002", "D003"]


def test_users_lists_the_practice_and_who_you_are(capsys, practice):
    code, out, _ = run(capsys, "--as", "ben", "users", "--json", "--data", str(practice))
    assert code == 0
    assert json.loads(out) == {
        "you": "ben",
        "role": "therapist",
        "users": {"anna": "supervisor", "ben": "therapist", "chloe": "therapist"},
    }


def test_a_couple_a_therapist_imports_is_theirs_and_anothers_is_refused(capsys, practice, tmp_path):
    mine = tmp_path / "couples.csv"
    mine.write_text("couple_id,name_a,name_b\nB100,Ada,Bo\n", encoding="utf-8")
    assert run(capsys, "--as", "ben", "import", str(mine), "--data", str(practice))[0] == 0
    theirs = tmp_path / "theirs.csv"
    theirs.write_text("couple_id,name_a,name_b\nB101,Cy,Di\nD003,Eve,Fay\n", encoding="utf-8")
    code, _, err = run(capsys, "--as", "ben", "import", str(theirs), "--data", str(practice))
    assert code == 1 and "no couple 'D003' in the store" in err
    with Store(practice, user="anna") as store:
        assert store.therapists()["B100"] == "ben"
        assert "B101" not in store.couple_ids()  # all or nothing
        assert store.get_couple("D003")["name_a"] == "Jordan"


# -- a therapist cannot see another's couple anywhere -------------------------------------------


def _cli(*args: str):
    def attempt(capsys, data: Path) -> str:
        code, out, err = run(capsys, "--as", "ben", *args, "--data", str(data))
        assert code != 0, out
        return err

    return attempt


def _listing(*args: str):
    def attempt(capsys, data: Path) -> str:
        code, out, err = run(capsys, "--as", "ben", *args, "--data", str(data))
        assert code == 0, err
        return out + err

    return attempt


def _library(call):
    def attempt(capsys, data: Path, monkeypatch) -> str:
        monkeypatch.setenv("JUPYTERHUB_USER", "ben")  # as in ben's own JupyterLab
        with Store(data) as store:
            return str(call(store, data))

    return attempt


def _workbook_couples(store: Store, data: Path) -> list:
    from mutuality_helpers.session_ui import SessionWorkbook

    book = SessionWorkbook(store)
    return [value for _label, value in book.couple.options]


def _caseload_view(store: Store, data: Path) -> str:
    from mutuality_helpers.caseload_ui import CaseloadView

    view = CaseloadView.open(data_dir=str(data))
    assert isinstance(view, CaseloadView)
    return view.table.value + repr(view.frame["couple_id"].tolist())


# Asking for chloe's couple by name: the very line a couple that does not exist gets.
REFUSED = {
    "summary": _cli("summary", "D003"),
    "summary json": _cli("summary", "D003", "--json"),
    "export": _cli("export", "D003"),
    "report": _cli("report", "D003", "--session", "1"),
    "report all of a couple": _cli("report", "D003", "--all"),
    "alerts": _cli("alerts", "D005"),
    "alert seen": _cli("alerts", "seen", "silence:D005:B:2026-10-26"),
    "audit": _cli("audit", "D003"),
    "session": _cli("session", "D003", "--date", "2026-12-01"),
    "worksheet": _cli("worksheet", "D003", "--partner", "A"),
    "erase": _cli("erase", "D003", "--yes"),
}
# Listing everything ben may see: chloe's couples are not in it.
LISTED = {
    "couples": _listing("couples", "--json"),
    "alerts list": _listing("alerts", "--all", "--json"),
    "audit list": _listing("audit", "--json"),
    "caseload": _library(lambda store, data: caseload(store)["couple_id"].tolist()),
    "caseload view": _library(_caseload_view),
    "workbook couple list": _library(_workbook_couples),
    "report --all": _library(lambda store, data: plan(store, all_sessions=True, force=True)),
    "answers": _library(lambda store, data: store.answers()["couple_id"].unique().tolist()),
    "sessions": _library(lambda store, data: store.sessions()["couple_id"].unique().tolist()),
    "alert records": _library(lambda store, data: store.alert_records()),
}


@pytest.mark.parametrize("entry", sorted(REFUSED))
def test_a_therapist_asking_for_anothers_couple_hears_it_does_not_exist(capsys, practice, entry):
    before = store_rows(practice, audit=False)
    err = REFUSED[entry](capsys, practice)
    # The very line a couple nobody has gets: nothing says it exists, or whose it is.
    couple = "D005" if "alert" in entry else "D003"
    assert err == f"mutuality: no couple '{couple}' in the store\n"
    assert not (practice / "reports" / "D003").exists()
    with Store(practice, user="anna") as store:
        assert store.get_couple("D003")["name_a"] == "Jordan"  # erase refused: all there
    assert store_rows(practice, audit=False) == before


@pytest.mark.parametrize("entry", sorted(LISTED))
def test_a_therapist_sees_only_their_couples_in_every_listing(capsys, practice, monkeypatch, entry):
    attempt = LISTED[entry]
    with Store(practice, user="anna") as store:  # chloe's couples have data of every kind
        store.add_session("D003", "2026-11-25")
        store.mark_alert("silence:D005:B:2026-10-26", "seen", "chloe")
        store.record_access("summary", "D004", "")
    if entry in {"couples", "alerts list", "audit list"}:
        shown = attempt(capsys, practice)
    else:
        shown = attempt(capsys, practice, monkeypatch)
    for couple in CHLOES:
        assert couple not in shown, (entry, couple)
    assert "Jordan" not in shown and "Casey" not in shown
    if entry in {"couples", "caseload", "caseload view", "workbook couple list", "answers"}:
        assert all(couple in shown for couple in BENS), shown


def test_a_supervisor_sees_every_couple(capsys, practice):
    code, out, _ = run(capsys, "--as", "anna", "couples", "--json", "--data", str(practice))
    rows = json.loads(out)
    assert code == 0 and [r["couple_id"] for r in rows] == BENS + CHLOES
    assert {r["couple_id"]: r["therapist"] for r in rows}["D003"] == "chloe"


def test_a_partners_form_reaches_its_own_couple_only(practice):
    with Store(practice, user=roles.partner_identity("D001", "A")) as store:
        assert store.couple_ids() == ["D001"]
        with pytest.raises(UnknownCouple, match="no couple 'D002' in the store"):
            store.get_couple("D002")
        with pytest.raises(UnknownCouple):
            store.add_couple("N001")  # a form never creates a couple


# -- the audit trail ------------------------------------------------------------------------------


CHECKIN = {
    "energy": 4, "teamwork": 2, "share_repair": 70, "share_connection": 35,
    "share_emotional_labour": 80, "share_practical_load": 55, "personal_work_self": 3,
    "personal_work_partner": 1, "demands": ["work"], "reflection": "a private line",
}  # fmt: skip


def test_audit_lists_every_access_of_a_test(capsys, practice, tmp_path, monkeypatch):
    from mutuality_helpers.forms import InstrumentForm, notebook_form
    from mutuality_helpers.session_ui import SessionWorkbook

    data = str(practice)
    as_ben = ("--as", "ben")
    with Store(practice, user="anna") as store:
        start = len(store.audit_log())
    assert run(capsys, *as_ben, "summary", "D001", "--data", data)[0] == 0
    assert (
        run(capsys, *as_ben, "export", "D001", "--out", str(tmp_path / "x.csv"), "--data", data)[0]
        == 0
    )
    assert run(capsys, *as_ben, "alerts", "D001", "--data", data)[0] == 0
    assert run(capsys, *as_ben, "session", "D002", "--date", "2026-12-01", "--data", data)[0] == 0
    assert run(capsys, *as_ben, "worksheet", "D001", "--partner", "B", "--data", data)[0] == 0
    form = notebook_form("weekly_checkin", "D001", "A", "2026-11-23", data)
    assert isinstance(form, InstrumentForm)
    form.set_values(CHECKIN)
    form._on_save()
    assert form.status in {"saved", "confirm"}, form.status
    if form.status == "confirm":  # the demo answered that week already
        form._on_replace()
    assert form.status == "saved"
    monkeypatch.setenv("JUPYTERHUB_USER", "ben")
    with Store(practice) as store:
        SessionWorkbook(store, "D002")
    monkeypatch.delenv("JUPYTERHUB_USER")

    code, out, _ = run(capsys, *as_ben, "audit", "--json", "--data", data)
    entries = json.loads(out)[-7:]
    assert code == 0
    assert [(e["who"], e["role"], e["couple_id"], e["action"]) for e in entries] == [
        ("ben", "therapist", "D001", "summary"),
        ("ben", "therapist", "D001", "export"),
        ("ben", "therapist", "D001", "alerts"),
        ("ben", "therapist", "D002", "session recorded"),
        ("ben", "therapist", "D001", "worksheet"),
        ("partner A of D001", "partner", "D001", "form save"),
        ("ben", "therapist", "D002", "workbook"),
    ]
    assert entries[1]["detail"] == "to x.csv" and entries[3]["detail"].startswith("session ")
    assert all(e["at"].endswith("+00:00") for e in entries)
    assert not any("private" in json.dumps(e) for e in entries)  # no clinical content
    with Store(practice, user="anna") as store:
        assert len(store.audit_log()) == start + 7
    # The text view, one line an entry.
    code, out, _ = run(capsys, *as_ben, "audit", "D002", "--data", data)
    assert code == 0 and "ben (therapist)  D002  workbook" in out


def test_erasing_a_couple_keeps_an_entry_that_does_not_name_it(capsys, practice, backend):
    data = str(practice)
    assert run(capsys, "--as", "chloe", "summary", "D004", "--data", data)[0] == 0
    code, _, err = run(capsys, "--as", "chloe", "erase", "D004", "--yes", "--data", data)
    assert code == 0, err
    with Store(practice, user="anna") as store:
        log = store.audit_log()
    assert not any(e["couple_id"] == "D004" for e in log)
    last = log[-1]
    assert (last["who"], last["action"], last["couple_id"]) == ("chloe", "erase", None)
    assert "D004" not in last["detail"]
    assert not any("D004" in repr(rows) for rows in store_rows(practice).values())
    if backend == "sqlite":
        assert b"D004" not in (practice / "workbook.sqlite").read_bytes()


def test_a_therapist_sees_the_trail_of_their_own_couples(capsys, practice):
    data = str(practice)
    assert run(capsys, "--as", "anna", "summary", "D001", "--data", data)[0] == 0
    assert run(capsys, "--as", "chloe", "summary", "D003", "--data", data)[0] == 0
    code, out, _ = run(capsys, "--as", "ben", "audit", "--json", "--data", data)
    seen = json.loads(out)
    assert code == 0 and {e["couple_id"] for e in seen} <= {*BENS, None}
    assert ("anna", "D001", "summary") in {(e["who"], e["couple_id"], e["action"]) for e in seen}


def test_the_audit_trail_has_no_update_or_delete_path():
    # The package's only writes to the audit table are inserts (erase aside, which removes a
    # couple's id from every table by its column): no code updates or deletes an entry.
    package = Path(roles.__file__).parent
    for path in package.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "audit_table.update" not in text and "audit_table.delete" not in text, path
