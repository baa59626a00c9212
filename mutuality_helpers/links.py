"""Partner links: the signed query string that opens one partner's form and no other.

A link carries the couple and the partner (and optionally the week) as query
parameters, plus a signature: HMAC-SHA256 of ``couple:partner`` under a key kept
owner-only in the data folder (``link.key``, made on first use). :func:`parse_link_query`
checks it in constant time, so a partner who edits ``partner=A`` into ``partner=B`` gets
a :class:`~mutuality_helpers.exceptions.LinkError`, not the other partner's form.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any
from urllib.parse import parse_qs, urlencode

from . import config
from .exceptions import LinkError, ValidationError
from .validation import parse_couple_id, parse_partner, parse_week

KEY_NAME = config.LINK_KEY_NAME


def link_key(data: Any = None) -> bytes:
    """The data folder's link-signing key, created (owner-only) on first use."""
    path = config.data_dir(data) / KEY_NAME
    if not path.exists() or path.stat().st_size == 0:
        config.private_file(path)
        path.write_text(secrets.token_hex(32), encoding="ascii")
    return bytes.fromhex(path.read_text(encoding="ascii").strip())


def link_signature(couple_id: str, partner: str, data: Any = None) -> str:
    message = f"{couple_id}:{partner}".encode()
    return hmac.new(link_key(data), message, hashlib.sha256).hexdigest()[:32]


def link_query(couple_id: str, partner: str, week: Any = None, data: Any = None) -> str:
    """The query string of a partner's link: ``couple=..&partner=..[&week=..]&sig=..``."""
    couple_id, partner = parse_couple_id(couple_id), parse_partner(partner)
    params = {"couple": couple_id, "partner": partner}
    if week is not None:
        params["week"] = parse_week(week).isoformat()
    params["sig"] = link_signature(couple_id, partner, data)
    return urlencode(params)


def partner_link(
    base_url: str,
    couple_id: str,
    partner: str,
    instrument: str = "weekly_checkin",
    week: Any = None,
    token: str | None = None,
    data: Any = None,
) -> str:
    """A partner's full link into the app, e.g. ``http://127.0.0.1:8866/voila/render/...``."""
    query = link_query(couple_id, partner, week, data)
    if token:
        query += "&" + urlencode({"token": token})
    return f"{base_url.rstrip('/')}/voila/render/{instrument}.ipynb?{query}"


def parse_link_query(query_string: str, data: Any = None) -> dict[str, Any]:
    """Read and check a partner link's query string.

    Returns
    -------
    dict
        ``{"couple_id", "partner", "week"}`` (``week`` is ``None`` when absent).

    Raises
    ------
    LinkError
        For a missing, repeated or malformed parameter, or a wrong signature.
    """
    if len(query_string) > 2000:
        raise LinkError("the link is too long")
    raw = parse_qs(query_string.lstrip("?"), keep_blank_values=True)

    def one(name: str, required: bool = True) -> str | None:
        values = raw.get(name, [])
        if len(values) > 1:
            raise LinkError(f"'{name}' is given more than once")
        if not values or values[0] == "":
            if required:
                raise LinkError(f"'{name}' is missing")
            return None
        return values[0]

    try:
        couple_id = parse_couple_id(one("couple"))
        partner = parse_partner(one("partner"))
        week_raw = one("week", required=False)
        week = None if week_raw is None else parse_week(week_raw)
    except ValidationError as exc:
        raise LinkError(str(exc)) from None
    signature = one("sig") or ""
    if not hmac.compare_digest(signature, link_signature(couple_id, partner, data)):
        raise LinkError("it is not a valid link for this practice")
    return {"couple_id": couple_id, "partner": partner, "week": week}
