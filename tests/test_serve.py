"""The Voila app: bind address rules, only the worksheets served, signed partner links."""

from __future__ import annotations

import stat
import subprocess
import urllib.error
import urllib.request

import pytest
from servers import free_port, stop, wait_for_http

from mutuality_helpers import config
from mutuality_helpers.cli import main
from mutuality_helpers.serve import (
    SERVED_NOTEBOOKS,
    LinkError,
    ServeError,
    check_bind,
    link_query,
    parse_link_query,
    partner_link,
    prepare_app_dir,
    voila_command,
    voila_environment,
)

TOKEN = "a-long-enough-token-123"


@pytest.mark.parametrize(
    "address, token, bound",
    [
        (None, None, "127.0.0.1"),
        ("127.0.0.1", None, "127.0.0.1"),
        ("localhost", None, "localhost"),
        ("0.0.0.0", TOKEN, "0.0.0.0"),
        ("192.168.1.20", TOKEN, "192.168.1.20"),
    ],
)
def test_bind_address(address, token, bound):
    assert check_bind(address, token) == bound


@pytest.mark.parametrize(
    "address, token, fragment",
    [
        ("0.0.0.0", None, "without a token"),
        ("192.168.1.20", "", "without a token"),
        ("0.0.0.0", "short", "at least 16"),
        ("example.org", TOKEN, "not an IP address"),
    ],
)
def test_bind_address_refused(address, token, fragment):
    with pytest.raises(ServeError, match=fragment):
        check_bind(address, token)


def test_cli_refuses_public_address_without_token(store, capsys):
    code = main(["serve", "--address", "0.0.0.0", "--data", str(store.data_dir)])
    out, err = capsys.readouterr()
    assert code == 1
    assert err.count("\n") == 1 and "without a token" in err


def test_voila_hides_code_and_tracebacks(tmp_path):
    command = voila_command(tmp_path, 8899, "127.0.0.1", None)
    assert "--strip_sources=True" in command
    assert "--show_tracebacks=False" in command
    assert "--Voila.ip=127.0.0.1" in command
    assert "--port=8899" in command and "--no-browser" in command
    assert "--token=" in command  # loopback only: no token asked
    assert f"--token={TOKEN}" in voila_command(tmp_path, 8899, "0.0.0.0", TOKEN)


def test_app_folder_holds_only_the_worksheets(tmp_path):
    folder = prepare_app_dir(tmp_path / "app")
    assert sorted(p.name for p in folder.iterdir()) == sorted(SERVED_NOTEBOOKS)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert "session_workbook.ipynb" not in SERVED_NOTEBOOKS


def test_kernels_get_the_data_folder(data_dir, monkeypatch):
    monkeypatch.setenv("JUPYTER_TOKEN", "secret")
    env = voila_environment(data_dir)
    assert env[config.DATA_ENV] == str(data_dir.resolve())
    assert "JUPYTER_TOKEN" not in env


def test_link_round_trip_and_key_is_owner_only(data_dir):
    query = link_query("C001", "A", "2026-11-23", data=data_dir)
    parsed = parse_link_query(query, data_dir)
    assert parsed["couple_id"] == "C001" and parsed["partner"] == "A"
    assert parsed["week"].isoformat() == "2026-11-23"
    key = data_dir / "link.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_link_from_another_practice_is_refused(tmp_path):
    query = link_query("C001", "A", data=tmp_path / "other")
    with pytest.raises(LinkError, match="not a valid link"):
        parse_link_query(query, tmp_path / "ours")


@pytest.mark.parametrize(
    "query, fragment",
    [
        ("couple=C001&partner=B&sig=0", "not a valid link"),
        ("partner=A&sig=0", "'couple' is missing"),
        ("couple=C001&sig=0", "'partner' is missing"),
        ("couple=C001&couple=C002&partner=A&sig=0", "more than once"),
        ("couple=C001&partner=A&week=2026-11-24&sig=0", "Monday"),
        ("couple=C001&partner=A&sig=" + "0" * 3000, "too long"),
    ],
)
def test_bad_links(data_dir, query, fragment):
    with pytest.raises(LinkError, match=fragment):
        parse_link_query(query, data_dir)


def test_partner_link_points_at_the_render_url(data_dir):
    url = partner_link("http://127.0.0.1:8866/", "C001", "B", token=TOKEN, data=data_dir)
    assert url.startswith("http://127.0.0.1:8866/voila/render/weekly_checkin.ipynb?couple=C001")
    assert f"token={TOKEN}" in url
    assert parse_link_query(url.split("?", 1)[1], data_dir)["partner"] == "B"


class _FinishedProcess:
    returncode = 0

    def wait(self, timeout=None):
        return 0


def test_serve_announces_partner_links_and_cleans_up(data_dir, tmp_path, monkeypatch):
    import mutuality_helpers.serve as serve_module

    started = {}

    def fake_start(data, port, address, token):
        started.update(data=data, port=port, address=address, token=token)
        folder = prepare_app_dir(tmp_path / "app")
        return _FinishedProcess(), folder

    monkeypatch.setattr(serve_module, "start", fake_start)
    lines: list[str] = []
    code = serve_module.serve(data_dir, 8870, None, None, announce=lines.append, links_for=["C001"])
    assert code == 0
    assert started == {"data": data_dir, "port": 8870, "address": "127.0.0.1", "token": None}
    assert lines[0].startswith("serving the worksheets on http://127.0.0.1:8870/")
    assert len(lines) == 5
    for partner, form, line in zip(
        "AABB", ["weekly_checkin", "mutuality_inventory"] * 2, lines[1:], strict=True
    ):
        assert f"/voila/render/{form}.ipynb?" in line
        query = line.split("?", 1)[1]
        assert parse_link_query(query, data_dir)["partner"] == partner
    assert not (tmp_path / "app").exists()  # the served copy is removed when Voila stops


@pytest.mark.slow
def test_voila_with_a_token_refuses_requests_without_it(data_dir, tmp_path):
    from mutuality_helpers.serve import start
    from mutuality_helpers.store import Store

    with Store(data_dir) as s:
        s.add_couple("C001")
    port = free_port()
    log = open(tmp_path / "voila.log", "wb")  # noqa: SIM115 -- closed below
    proc, _folder = start(data_dir, port, None, TOKEN, tmp_path / "app", log, subprocess.STDOUT)

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    base = f"http://127.0.0.1:{port}"
    try:
        # Up when it answers at all: a redirect to the login page is an answer.
        wait_for_http(
            base + "/", proc, tmp_path / "voila.log", opener=opener, accept_http_error=True
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            opener.open(partner_link(base, "C001", "A", data=data_dir), timeout=30)
        assert refused.value.code in (302, 403)
        allowed = opener.open(
            partner_link(base, "C001", "A", token=TOKEN, data=data_dir), timeout=60
        )
        assert allowed.status == 200
    finally:
        stop(proc)
        log.close()


@pytest.mark.slow
def test_voila_hides_a_traceback_from_the_page(data_dir, tmp_path):
    """A notebook that fails shows neither the code nor the error's details to the partner."""
    import nbformat

    folder = prepare_app_dir(tmp_path / "app")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("secret_code_line = 1\nraise RuntimeError('SECRET-DETAIL-42')")
    ]
    nbformat.write(nb, folder / "boom.ipynb")
    port = free_port()
    log = open(tmp_path / "voila.log", "wb")  # noqa: SIM115 -- closed below
    proc = subprocess.Popen(
        voila_command(folder, port, "127.0.0.1"),
        env=voila_environment(data_dir),
        cwd=folder,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}/voila/render/boom.ipynb"
        page = wait_for_http(url, proc, tmp_path / "voila.log").decode()
        assert "SECRET-DETAIL-42" not in page
        assert "secret_code_line" not in page
        assert "There was an error when executing cell" in page
    finally:
        stop(proc)
        log.close()
