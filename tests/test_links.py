"""Partner links: signed, generation-checked (revoke, erase, reuse), expiring, week-bound."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path
from urllib.parse import parse_qs, urlencode

import ipywidgets as widgets
import pytest

from mutuality_helpers.cli import main as cli_main
from mutuality_helpers.erase import erase_couple
from mutuality_helpers.exceptions import LinkError, ValidationError
from mutuality_helpers.forms import InstrumentForm, notebook_form
from mutuality_helpers.links import (
    DEFAULT_EXPIRY_DAYS,
    expiry_date,
    link_query,
    link_signature,
    parse_link_query,
    partner_link,
)
from mutuality_helpers.store import Store

TOKEN = "a-long-enough-token-123"
TODAY = dt.date(2026, 12, 2)  # conftest's MUTUALITY_TODAY
WEEK = dt.date(2026, 11, 23)
CHECKIN = {
    "energy": 4, "teamwork": 2, "share_repair": 70, "share_connection": 35,
    "share_emotional_labour": 80, "share_practical_load": 55, "personal_work_self": 3,
    "personal_work_partner": 1,
}  # fmt: skip


@pytest.fixture
def couples(store: Store) -> Store:
    for couple in ("C001", "C007"):
        store.add_couple(couple)
    return store


def query_of(url: str) -> str:
    return url.split("?", 1)[1]


def refused(query: str, data: Path) -> str:
    with pytest.raises(LinkError) as info:
        parse_link_query(query, data)
    return str(info.value)


# -- signed and checked -------------------------------------------------------------------


def test_link_round_trip_and_key_is_owner_only(couples, data_dir):
    query = link_query("C001", "A", "2026-11-23", data=data_dir)
    parsed = parse_link_query(query, data_dir)
    assert parsed == {
        "couple_id": "C001",
        "partner": "A",
        "week": WEEK,
        "generation": 1,
        "expires": TODAY + dt.timedelta(days=DEFAULT_EXPIRY_DAYS),
    }
    assert stat.S_IMODE((data_dir / "link.key").stat().st_mode) == 0o600


def test_link_from_another_practice_is_refused(tmp_path):
    for folder in ("ours", "other"):
        with Store(tmp_path / folder) as store:
            store.add_couple("C001")
    query = link_query("C001", "A", data=tmp_path / "other")
    assert refused(query, tmp_path / "ours") == "it is not a valid link for this practice"


@pytest.mark.parametrize(
    "change, fragment",
    [
        ({"partner": "B"}, "not a valid link"),
        ({"gen": "2"}, "not a valid link"),  # a partner raising the generation by hand
        ({"exp": "2099-01-01"}, "not a valid link"),  # or moving the expiry
        ({"week": "2026-11-16"}, "not a valid link"),  # or the bound week
        ({"gen": "x"}, "not a valid link"),
        ({"exp": "soon"}, "not a valid link"),
        ({"gen": None, "exp": None}, "no longer in use"),  # the link format before 0004
        ({"couple": None}, "'couple' is missing"),
        ({"sig": None}, "'sig' is missing"),
    ],
)
def test_a_tampered_link_is_refused(couples, data_dir, change, fragment):
    params = {k: v[0] for k, v in parse_qs(link_query("C001", "A", WEEK, data=data_dir)).items()}
    for key, value in change.items():
        if value is None:
            params.pop(key)
        else:
            params[key] = value
    assert fragment in refused(urlencode(params), data_dir)


@pytest.mark.parametrize(
    "query, fragment",
    [
        ("couple=C001&couple=C002&partner=A&sig=0", "more than once"),
        ("couple=C001&partner=A&week=2026-11-24&sig=0", "Monday"),
        ("couple=C001&partner=A&sig=" + "0" * 3000, "too long"),
    ],
)
def test_bad_links(couples, data_dir, query, fragment):
    assert fragment in refused(query, data_dir)


def test_partner_link_points_at_the_render_url(couples, data_dir):
    url = partner_link("http://127.0.0.1:8866/", "C001", "B", token=TOKEN, data=data_dir)
    assert url.startswith("http://127.0.0.1:8866/voila/render/weekly_checkin.ipynb?couple=C001")
    assert f"token={TOKEN}" in url
    assert parse_link_query(query_of(url), data_dir)["partner"] == "B"


# -- expiry -------------------------------------------------------------------------------


def test_a_link_works_through_its_last_day_and_not_after(couples, data_dir, monkeypatch):
    query = link_query("C001", "A", data=data_dir, expires=7)
    assert parse_link_query(query, data_dir)["expires"] == TODAY + dt.timedelta(days=7)
    monkeypatch.setenv("MUTUALITY_TODAY", str(TODAY + dt.timedelta(days=7)))
    parse_link_query(query, data_dir)
    monkeypatch.setenv("MUTUALITY_TODAY", str(TODAY + dt.timedelta(days=8)))
    assert refused(query, data_dir) == "it has expired"


@pytest.mark.parametrize("days", [0, -1, 367, 2.5, True, "7"])
def test_an_expiry_out_of_range_is_refused(days):
    with pytest.raises(ValidationError, match="from 1 to 366"):
        expiry_date(days)


def test_the_signature_covers_the_expiry(couples, data_dir):
    one = link_signature("C001", "A", 1, TODAY, None, data_dir)
    assert one != link_signature("C001", "A", 1, TODAY + dt.timedelta(days=1), None, data_dir)
    assert one != link_signature("C001", "A", 2, TODAY, None, data_dir)


# -- generations: revoke, erase, reuse ------------------------------------------------------


def test_revoke_retires_one_partners_links_only(couples, data_dir, capsys):
    a, b = (link_query("C001", p, data=data_dir) for p in "AB")
    assert cli_main(["revoke", "C001", "--partner", "a", "--data", str(data_dir)]) == 0
    assert "partner A's earlier links no longer open a form" in capsys.readouterr().out
    assert refused(a, data_dir) == "it is no longer in use"
    parse_link_query(b, data_dir)  # B's link still works
    parse_link_query(link_query("C001", "A", data=data_dir), data_dir)  # a new A link does
    assert cli_main(["revoke", "C001", "--data", str(data_dir)]) == 0
    assert refused(b, data_dir) == "it is no longer in use"
    assert couples.link_generations("C001") == {"A": 3, "B": 2}
    assert cli_main(["revoke", "C404", "--data", str(data_dir)]) == 1


def test_an_old_link_never_opens_a_couple_recreated_under_the_same_id(couples, data_dir):
    old = link_query("C007", "A", data=data_dir)
    erase_couple(couples, "C007")
    assert refused(old, data_dir) == "it is no longer in use"
    with Store(data_dir) as store:
        store.reuse_id("C007")
        assert refused(old, data_dir) == "it is no longer in use"
        new = link_query("C007", "A", data=data_dir, store=store)
        assert parse_link_query(new, store=store)["generation"] == 2
        shown = notebook_form("weekly_checkin", data_dir=str(data_dir), query_string=old)
        assert isinstance(shown, widgets.HTML) and "no longer in use" in shown.value
        opened = notebook_form("weekly_checkin", data_dir=str(data_dir), query_string=new)
        assert isinstance(opened, InstrumentForm)


def test_a_form_open_when_its_link_is_revoked_saves_nothing(couples, data_dir):
    query = link_query("C001", "B", data=data_dir)
    form = notebook_form("weekly_checkin", data_dir=str(data_dir), query_string=query)
    assert isinstance(form, InstrumentForm)
    form.set_values(CHECKIN)
    couples.revoke_links("C001", "B")
    form._on_save()
    assert form.status == "error"
    assert form.message.startswith("Your answers were not saved: this link does not work any")
    assert "ask your therapist for a new one" in form.message
    assert couples.answers("C001").empty


def test_a_form_open_past_its_links_expiry_saves_nothing(couples, data_dir, monkeypatch):
    query = link_query("C001", "A", data=data_dir, expires=1)
    form = notebook_form("weekly_checkin", data_dir=str(data_dir), query_string=query)
    assert isinstance(form, InstrumentForm)
    form.set_values(CHECKIN)
    monkeypatch.setenv("MUTUALITY_TODAY", str(TODAY + dt.timedelta(days=2)))
    form._on_save()
    assert form.status == "error" and "it has expired" in form.message
    assert couples.answers("C001").empty


def test_a_link_bound_to_a_week_offers_that_week_only(couples, data_dir):
    query = link_query("C001", "A", WEEK, data=data_dir)
    form = notebook_form("weekly_checkin", data_dir=str(data_dir), query_string=query)
    assert isinstance(form, InstrumentForm)
    assert [w for _, w in form.week.options] == [WEEK]
    form.set_values(CHECKIN)
    form._on_save()
    assert form.status == "saved"
    assert set(couples.answers("C001")["week"].dt.date) == {WEEK}
    # Unbound, the form offers the recent weeks to choose from.
    free = notebook_form(
        "weekly_checkin",
        data_dir=str(data_dir),
        query_string=link_query("C001", "B", data=data_dir),
    )
    assert isinstance(free, InstrumentForm) and len(free.week.options) > 1


def test_links_for_an_unknown_couple_are_not_made(couples, data_dir):
    from mutuality_helpers.exceptions import UnknownCouple

    with pytest.raises(UnknownCouple):
        link_query("C404", "A", data=data_dir)


# -- handouts: mutuality links ------------------------------------------------------------

BASE = "https://checkin.example.org"


def decode_qr(pdf: Path, tmp_path: Path) -> list[str]:
    """The QR codes on the PDF's first page: rendered to pixels (poppler), read by zxing-cpp."""
    import subprocess

    import zxingcpp
    from PIL import Image

    png = tmp_path / f"{pdf.stem}-page"
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-singlefile", str(pdf), str(png)], check=True)
    with Image.open(f"{png}.png") as image:
        return [r.text for r in zxingcpp.read_barcodes(image.convert("L"))]


def pdf_text(pdf: Path) -> tuple[int, str]:
    from pypdf import PdfReader

    reader = PdfReader(pdf)
    return len(reader.pages), "".join(page.extract_text() for page in reader.pages)


def test_links_prints_both_links_and_writes_a_one_page_handout_each(
    couples, data_dir, tmp_path, capsys
):
    couples.add_couple("C007", "Ana", "Bo")
    (data_dir / "practice.yaml").write_text(f"public_url: {BASE}\n", encoding="utf-8")
    capsys.readouterr()
    code = cli_main(
        ["links", "C007", "--week", str(WEEK), "--expires", "14", "--data", str(data_dir)]
    )
    assert code == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 4
    folder = data_dir / "reports" / "handouts"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for partner, line, where in zip("AB", out[0::2], out[1::2], strict=True):
        assert line.startswith(f"C007 partner {partner} (until 2026-12-16, week of {WEEK}): ")
        link = line.split(": ", 1)[1]
        assert link.startswith(f"{BASE}/voila/render/weekly_checkin.ipynb?couple=C007")
        parsed = parse_link_query(query_of(link), data_dir)
        assert (parsed["partner"], parsed["week"]) == (partner, WEEK)
        pdf = folder / f"C007-{partner}-weekly_checkin.pdf"  # pseudonymous: no name in it
        assert where == f"  handout: {pdf}"
        assert stat.S_IMODE(pdf.stat().st_mode) == 0o600
        pages, text = pdf_text(pdf)
        assert pages == 1
        flat = "".join(text.split())
        assert link in flat  # all of the link, wrapped but whole
        assert f"For {'Ana' if partner == 'A' else 'Bo'}." in text
        assert "16 Dec 2026" in text and "Need help now?" in text
        assert decode_qr(pdf, tmp_path) == [link]  # the QR code is the very same link


def test_links_for_a_revoked_partner_are_new_ones_and_the_old_handout_fails(
    couples, data_dir, tmp_path, capsys
):
    out = tmp_path / "handouts"
    assert (
        cli_main(["links", "C001", "--base-url", BASE, "--out", str(out), "--data", str(data_dir)])
        == 0
    )
    old = capsys.readouterr().out.splitlines()[0].split(": ", 1)[1]
    assert cli_main(["revoke", "C001", "--partner", "A", "--data", str(data_dir)]) == 0
    assert (
        cli_main(["links", "C001", "--base-url", BASE, "--out", str(out), "--data", str(data_dir)])
        == 0
    )
    new = capsys.readouterr().out.splitlines()[1].split(": ", 1)[1]
    assert refused(query_of(old), data_dir) == "it is no longer in use"
    assert parse_link_query(query_of(new), data_dir)["generation"] == 2
    assert decode_qr(out / "C001-A-weekly_checkin.pdf", tmp_path) == [new]


def test_an_existing_out_folder_keeps_its_permissions(couples, data_dir, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    assert (
        cli_main(
            ["links", "C001", "--base-url", BASE, "--out", str(shared), "--data", str(data_dir)]
        )
        == 0
    )
    assert stat.S_IMODE(shared.stat().st_mode) == 0o755
    assert {stat.S_IMODE(p.stat().st_mode) for p in shared.iterdir()} == {0o600}


@pytest.mark.parametrize(
    "args, fragment",
    [
        ([], "no address for the links"),
        (["--base-url", "ftp://x"], "must look like https://"),
        (["--week", "2026-11-24", "--base-url", BASE], "Monday"),
        (["--expires", "0", "--base-url", BASE], "0 is not in the range"),
    ],
)
def test_links_refuses_bad_options_in_one_line_and_writes_nothing(
    couples, data_dir, capsys, args, fragment
):
    assert cli_main(["links", "C001", *args, "--data", str(data_dir)]) in (1, 2)
    err = capsys.readouterr().err.strip()
    assert fragment in err and "\n" not in err
    assert not (data_dir / "reports" / "handouts").exists()


def test_a_bad_public_url_in_practice_yaml_is_named(couples, data_dir, capsys):
    (data_dir / "practice.yaml").write_text("public_url: checkin.example.org/forms\n")
    assert cli_main(["links", "C001", "--data", str(data_dir)]) == 1
    assert "practice.yaml: public_url" in capsys.readouterr().err


def test_erase_removes_the_couples_handouts(couples, data_dir):
    from mutuality_helpers.handout import make_handouts

    for couple in ("C001", "C007"):
        make_handouts(couples, couple, BASE)
    result = erase_couple(couples, "C007")
    folder = data_dir / "reports" / "handouts"
    assert sorted(p.name for p in folder.iterdir()) == [
        "C001-A-weekly_checkin.pdf", "C001-B-weekly_checkin.pdf"
    ]  # fmt: skip
    assert {p.name for p in result.files} >= {"C007-A-weekly_checkin.pdf"}
    assert result.leftovers == []
