"""The TLS reverse proxy in front of the form server: nginx, with the site the project ships.

Partners reach ``mutuality serve`` from home over HTTPS. TLS ends in nginx
(Debian's package), which passes everything on to the form server on 127.0.0.1.
The site file is ``deploy/nginx-site.conf``; :func:`nginx_site` fills in its few
``@NAME@`` blanks (``mutuality serve --public-url URL --nginx-site CERT KEY``
prints it), and the tests run the real nginx with exactly that text.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from . import config
from .exceptions import ServeError
from .serve import DEFAULT_PORT, ServeOptions

SITE_TEMPLATE = config.DEPLOY_DIR / "nginx-site.conf"
SERVICE_TEMPLATE = config.DEPLOY_DIR / "mutuality-forms.service"

# Whatever is filled in lands inside an nginx directive: no spaces, quotes, braces or ';'.
_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$")
_LISTEN = re.compile(r"^(\d{1,5}|\d{1,3}(\.\d{1,3}){3}:\d{1,5}|\[[0-9a-fA-F:]+\]:\d{1,5})$")
_PATH = re.compile(r"^/[^\s;{}'\"#$\\]*$")


def nginx_site(
    server_name: str,
    certificate: str | Path,
    certificate_key: str | Path,
    upstream_port: int = DEFAULT_PORT,
    https_listen: str = "443",
    http_listen: str = "80",
) -> str:
    """The nginx site for the form server, filled in.

    Parameters
    ----------
    server_name
        The host name partners use (also give it to ``mutuality serve --public-url``).
    certificate, certificate_key
        Absolute paths of the TLS certificate (full chain) and its key.
    upstream_port
        The port ``mutuality serve`` listens on (on 127.0.0.1).
    https_listen, http_listen
        nginx ``listen`` values: a port, or ``address:port``. Plain HTTP only redirects.

    Raises
    ------
    ServeError
        For a value that is not a plain host name, absolute path, port or listen address.
    """
    checks = {
        "server name": (server_name, _NAME),
        "certificate": (str(certificate), _PATH),
        "certificate key": (str(certificate_key), _PATH),
        "https listen": (str(https_listen), _LISTEN),
        "http listen": (str(http_listen), _LISTEN),
    }
    for what, (value, pattern) in checks.items():
        if not pattern.match(value):
            raise ServeError(f"{what} {value!r} cannot go into the nginx site")
    if not isinstance(upstream_port, int) or not 1 <= upstream_port <= 65535:
        raise ServeError(f"upstream port {upstream_port!r} is not a port number")
    blanks = {
        "@SERVER_NAME@": server_name,
        "@CERTIFICATE@": str(certificate),
        "@CERTIFICATE_KEY@": str(certificate_key),
        "@UPSTREAM_PORT@": str(upstream_port),
        "@HTTPS_LISTEN@": str(https_listen),
        "@HTTP_LISTEN@": str(http_listen),
    }
    text = SITE_TEMPLATE.read_text(encoding="utf-8")
    for blank, value in blanks.items():
        text = text.replace(blank, value)
    return text


def site_for(options: ServeOptions, certificate: str, certificate_key: str) -> str:
    """The nginx site in front of a server run with ``options`` (its public URL's host).

    Raises
    ------
    ServeError
        Without an ``https://`` public URL on the standard port, which the site serves.
    """
    url = urlsplit(options.public_url or "")
    if url.scheme != "https" or not url.hostname or url.port not in (None, 443):
        raise ServeError(
            "--nginx-site needs --public-url https://NAME (the address partners use, port 443)"
        )
    cert, key = (Path(f).expanduser().absolute() for f in (certificate, certificate_key))
    return nginx_site(url.hostname, cert, key, options.port)
