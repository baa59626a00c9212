"""The form server's rules: bind address, token, options, served folder, links, settings.

The running server (a real ``mutuality serve``) is tested in test_formserver.py.
"""

from __future__ import annotations

import stat

import pytest

from mutuality_helpers import config
from mutuality_helpers.cli import main
from mutuality_helpers.exceptions import ServeError
from mutuality_helpers.links import parse_link_query
from mutuality_helpers.serve import (
    SERVED_NOTEBOOKS,
    TOKEN_ENV,
    ServeOptions,
    allowed_hosts,
    check_bind,
    check_public_url,
    prepare_app_dir,
    read_token,
    serve_command,
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


def test_cli_refuses_a_token_on_the_command_line(store, capsys):
    code = main(["serve", "--token", TOKEN, "--data", str(store.data_dir)])
    _out, err = capsys.readouterr()
    assert code == 1 and err.count("\n") == 1
    assert "--token-file" in err and TOKEN not in err


def test_token_from_a_file_or_the_environment(tmp_path):
    path = tmp_path / "token"
    path.write_text(f"  {TOKEN}\n")
    path.chmod(0o600)
    assert read_token(path) == TOKEN
    assert read_token(None, {TOKEN_ENV: "from-the-environment"}) == "from-the-environment"
    assert read_token(None, {}) is None


@pytest.mark.parametrize(
    "content, mode, fragment",
    [
        (TOKEN, 0o644, "readable by other users"),
        ("  \n", 0o600, "is empty"),
        (None, None, "cannot be read"),
    ],
)
def test_bad_token_files_are_refused(tmp_path, content, mode, fragment):
    path = tmp_path / "token"
    if content is not None:
        path.write_text(content)
        path.chmod(mode)
    with pytest.raises(ServeError, match=fragment):
        read_token(path)


def test_cli_reads_the_token_file_before_anything_starts(store, tmp_path, capsys):
    path = tmp_path / "token"
    path.write_text(TOKEN)
    path.chmod(0o640)
    code = main(["serve", "--token-file", str(path), "--data", str(store.data_dir)])
    assert code == 1 and "chmod 600" in capsys.readouterr().err


@pytest.mark.parametrize(
    "url, normal",
    [
        ("https://checkin.example.org", "https://checkin.example.org"),
        ("https://checkin.example.org/", "https://checkin.example.org"),
        ("http://192.168.1.20:8866", "http://192.168.1.20:8866"),
    ],
)
def test_public_url(url, normal):
    assert check_public_url(url) == normal


@pytest.mark.parametrize(
    "url", ["checkin.example.org", "ftp://x.org", "https://x.org/forms", "https://u@x.org"]
)
def test_public_url_refused(url):
    with pytest.raises(ServeError, match="--public-url"):
        check_public_url(url)


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"max_forms": 0}, "max_forms"),
        ({"pool": -1}, "pool"),
        ({"idle_timeout": 1}, "idle_timeout"),
        ({"port": 70000}, "port"),
        ({"pool": True}, "pool"),
    ],
)
def test_serve_options_are_checked(kwargs, fragment):
    with pytest.raises(ServeError, match=fragment):
        ServeOptions(**kwargs)


@pytest.mark.parametrize(
    "bind, public_url, extra, absent",
    [
        ("127.0.0.1", None, set(), {"0.0.0.0"}),
        ("0.0.0.0", "https://checkin.example.org", {"checkin.example.org"}, {"0.0.0.0"}),
        ("192.168.1.20", None, {"192.168.1.20"}, {"evil.example"}),
    ],
)
def test_allowed_hosts(bind, public_url, extra, absent):
    hosts = allowed_hosts(bind, public_url)
    assert {"localhost", "127.0.0.1", "::1"} | extra <= hosts
    assert not absent & hosts


def test_the_background_command_carries_no_token(data_dir):
    command = serve_command(data_dir, ServeOptions(address="0.0.0.0", token=TOKEN))
    assert not any(TOKEN in part for part in command)
    assert command[:4] == [command[0], "-m", "mutuality_helpers.cli", "serve"]


def test_app_folder_holds_only_the_worksheets(tmp_path):
    folder = prepare_app_dir(tmp_path / "app")
    assert sorted(p.name for p in folder.iterdir()) == sorted(SERVED_NOTEBOOKS)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert "session_workbook.ipynb" not in SERVED_NOTEBOOKS


def test_kernels_get_the_data_folder_and_no_token(data_dir, monkeypatch):
    monkeypatch.setenv("JUPYTER_TOKEN", "secret")
    monkeypatch.setenv(TOKEN_ENV, "secret-too")
    env = voila_environment(data_dir, "192.168.1.20")
    assert env[config.DATA_ENV] == str(data_dir.resolve())
    assert "JUPYTER_TOKEN" not in env and TOKEN_ENV not in env
    assert env["JUPYTER_PATH"].split(":")[0] == str(config.VOILA_SHARE_DIR)
    assert env["VOILA_APP_IP"] == "192.168.1.20"  # where a preheated kernel finds the server
    assert voila_environment(data_dir, "0.0.0.0")["VOILA_APP_IP"] == "127.0.0.1"


def test_serve_announces_partner_links_and_cleans_up(store, data_dir, monkeypatch):
    import mutuality_helpers.serve as serve_module

    store.add_couple("C001")
    ran = {}

    def fake_run_app(app_dir, data, options):
        ran.update(app_dir=app_dir, files=sorted(p.name for p in app_dir.iterdir()))
        return 0

    monkeypatch.setattr(serve_module, "run_app", fake_run_app)
    lines: list[str] = []
    options = ServeOptions(port=8870)
    code = serve_module.serve(data_dir, options, announce=lines.append, links_for=["C001"])
    assert code == 0
    assert ran["files"] == sorted(SERVED_NOTEBOOKS)
    assert lines[0].startswith("serving the worksheets on http://127.0.0.1:8870/")
    assert len(lines) == 5
    for partner, form, line in zip(
        "AABB", ["weekly_checkin", "mutuality_inventory"] * 2, lines[1:], strict=True
    ):
        assert f"/voila/render/{form}.ipynb?" in line
        query = line.split("?", 1)[1]
        assert parse_link_query(query, data_dir)["partner"] == partner
    assert not ran["app_dir"].exists()  # the served copy is removed when the server stops


def test_announced_links_use_the_public_url(store, data_dir, monkeypatch):
    import mutuality_helpers.serve as serve_module

    store.add_couple("C001")
    monkeypatch.setattr(serve_module, "run_app", lambda *args: 0)
    lines: list[str] = []
    options = ServeOptions(public_url="https://checkin.example.org/")
    serve_module.serve(data_dir, options, announce=lines.append, links_for=["C001"])
    assert lines[1].split(": ", 1)[1].startswith("https://checkin.example.org/voila/render/")
