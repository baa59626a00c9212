"""The TLS proxy: the nginx site the project ships, run for real in front of ``mutuality serve``,
and the systemd unit that runs the server as a service."""

from __future__ import annotations

import re
import shlex
import urllib.error

import pytest

from mutuality_helpers.cli import cli, main
from mutuality_helpers.exceptions import ServeError
from mutuality_helpers.proxy import SERVICE_TEMPLATE, nginx_site


def test_the_site_is_filled_in_completely():
    site = nginx_site("checkin.example.org", "/etc/ssl/c.pem", "/etc/ssl/k.pem", 8870)
    assert "@" not in site.replace("$", "")  # every blank filled
    assert "server_name checkin.example.org;" in site
    assert "proxy_pass http://127.0.0.1:8870;" in site
    assert "listen 443 ssl http2;" in site and "listen 80;" in site
    assert "access_log off;" in site  # partner links never reach a log


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"server_name": "evil; include /etc/passwd"}, "server name"),
        ({"server_name": "a b"}, "server name"),
        ({"certificate": "relative.pem"}, "certificate"),
        ({"certificate_key": "/k.pem; x"}, "certificate key"),
        ({"https_listen": "443 ssl; x"}, "https listen"),
        ({"upstream_port": 0}, "upstream port"),
    ],
)
def test_nothing_else_gets_into_the_site(kwargs, fragment):
    args = {"server_name": "x.org", "certificate": "/c.pem", "certificate_key": "/k.pem"}
    args.update(kwargs)
    with pytest.raises(ServeError, match=fragment):
        nginx_site(**args)


def test_serve_prints_the_site_for_its_public_url(store, capsys, tmp_path):
    data = ["--data", str(store.data_dir)]
    code = main(
        ["serve", "--port", "8870", "--public-url", "https://checkin.example.org", *data]
        + ["--nginx-site", "/etc/ssl/c.pem", "/etc/ssl/k.pem"]
    )
    assert code == 0
    assert capsys.readouterr().out == nginx_site(
        "checkin.example.org", "/etc/ssl/c.pem", "/etc/ssl/k.pem", 8870
    )
    code = main(["serve", "--nginx-site", "/c.pem", "/k.pem", *data])
    assert code == 1 and "--public-url https://NAME" in capsys.readouterr().err


def test_the_service_unit_runs_a_valid_serve_command():
    unit = SERVICE_TEMPLATE.read_text(encoding="utf-8")
    exec_start = re.search(r"^ExecStart=(.+)$", unit, re.M).group(1)
    argv = shlex.split(exec_start)
    assert argv[0].endswith("/mutuality") and argv[1] == "serve"
    assert not any(a.startswith("--token") and a != "--token-file" for a in argv)
    # Every option is one `mutuality serve` knows, with a valid value.
    cli.commands["serve"].make_context("serve", argv[2:])
    assert "KillSignal=SIGTERM" in unit


@pytest.mark.slow
def test_a_form_through_the_real_nginx_over_https(form_server, tls_proxy):
    server = form_server(pool=1)
    proxy = tls_proxy(server.port)

    with proxy.open(server.link("C001", "A", base=proxy.base)) as response:
        page = response.read().decode()
        headers = response.headers
    assert response.status == 200
    assert "mutuality_form/static/fontawesome" in page and "cdn.jsdelivr" not in page
    csp = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Strict-Transport-Security"].startswith("max-age=")
    assert headers["Server"] == "nginx"  # no version for a scanner

    with proxy.open(proxy.base + "/health") as response:
        assert b'"status": "ok"' in response.read()

    # DNS rebinding through the proxy: another host name is refused by the server.
    with pytest.raises(urllib.error.HTTPError) as refused:
        proxy.open(proxy.base + "/", headers={"Host": "evil.example"})
    assert refused.value.code == 403


@pytest.mark.slow
def test_plain_http_only_redirects_to_https(form_server, tls_proxy):
    import http.client

    server = form_server(pool=1)
    proxy = tls_proxy(server.port)
    connection = http.client.HTTPConnection("127.0.0.1", proxy.http_port, timeout=30)
    connection.request("GET", "/voila/render/weekly_checkin.ipynb?couple=C001")
    response = connection.getresponse()
    assert response.status == 301
    assert response.getheader("Location").startswith("https://127.0.0.1/voila/render/")
    connection.close()
