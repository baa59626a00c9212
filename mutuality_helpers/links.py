"""Partner links: the signed query string that opens one partner's form and no other.

A link carries the couple, the partner, the partner's *link generation*, the last day it
works (its expiry) and optionally the one week it is for, as query parameters, plus a
signature: HMAC-SHA256 of all of them under a key kept owner-only in the data folder
(``link.key``, made on first use). :func:`parse_link_query` checks the signature in
constant time, so a partner who edits ``partner=A`` into ``partner=B``, or moves the
expiry, gets a :class:`~mutuality_helpers.exceptions.LinkError`, not a form.

It then checks the link against the store (:meth:`Store.check_link_live`): a link past
its expiry, or signed with a generation the partner no longer has, is refused. The
generation lives with the couple, one per partner; ``mutuality revoke`` raises it (every
earlier link of that partner stops working), erasing the couple removes it (and a couple
re-created under the id with ``mutuality reuse`` starts above it). A form checks its link
again, inside the save's transaction, when it saves.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode

from . import config
from .exceptions import LinkError, ValidationError
from .validation import parse_couple_id, parse_date, parse_partner, parse_week

if TYPE_CHECKING:
    from .store import Store

KEY_NAME = config.LINK_KEY_NAME
#: How long a link works unless the therapist says otherwise (``--expires DAYS``).
DEFAULT_EXPIRY_DAYS = 56
#: The longest a link may work: a link is a key to a partner's form.
MAX_EXPIRY_DAYS = 366
#: What every link refused for being stale says (revoked, erased, an older format).
NOT_IN_USE = "it is no longer in use"


def link_key(data: Any = None) -> bytes:
    """The data folder's link-signing key, created (owner-only) on first use."""
    path = config.data_dir(data) / KEY_NAME
    if not path.exists() or path.stat().st_size == 0:
        config.private_file(path)
        path.write_text(secrets.token_hex(32), encoding="ascii")
    return bytes.fromhex(path.read_text(encoding="ascii").strip())


def link_signature(
    couple_id: str,
    partner: str,
    generation: int,
    expires: dt.date,
    week: dt.date | None = None,
    data: Any = None,
) -> str:
    """The signature over everything a link says (``v2``: the format with generations)."""
    bound = week.isoformat() if week is not None else ""
    message = f"v2:{couple_id}:{partner}:{generation}:{expires.isoformat()}:{bound}".encode()
    return hmac.new(link_key(data), message, hashlib.sha256).hexdigest()[:32]


def expiry_date(days: Any = None, today: dt.date | None = None) -> dt.date:
    """The last day a link made today works: ``days`` (default 56) from today.

    Raises
    ------
    ValidationError
        For a number of days that is not a whole number from 1 to 366.
    """
    from .weeks import today as clock_today

    days = DEFAULT_EXPIRY_DAYS if days is None else days
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_EXPIRY_DAYS:
        raise ValidationError(
            f"a link's expiry must be a whole number of days from 1 to {MAX_EXPIRY_DAYS}, "
            f"not {days!r}"
        )
    return (today or clock_today()) + dt.timedelta(days=days)


def _open_store(data: Any) -> Store:
    from .store import Store

    return Store(data, create=False)


def link_query(
    couple_id: str,
    partner: str,
    week: Any = None,
    data: Any = None,
    expires: Any = None,
    store: Store | None = None,
) -> str:
    """A partner link's query: ``couple=..&partner=..[&week=..]&gen=..&exp=..&sig=..``.

    The partner's current generation is read from ``store`` (else the data folder's store);
    ``expires`` is a number of days from today (default 56) or the last day, a date.

    Raises
    ------
    UnknownCouple
        When the couple is not in the store (an erased one included).
    """
    couple_id, partner = parse_couple_id(couple_id), parse_partner(partner)
    last_day = (
        parse_date(expires, "expires")
        if isinstance(expires, (dt.date, str))
        else expiry_date(expires)
    )
    bound = None if week is None else parse_week(week)
    owned = store is None
    store = _open_store(data) if store is None else store
    try:
        generation = store.link_generations(couple_id)[partner]
        data = store.data_dir
    finally:
        if owned:
            store.close()
    params = {"couple": couple_id, "partner": partner}
    if bound is not None:
        params["week"] = bound.isoformat()
    params["gen"] = str(generation)
    params["exp"] = last_day.isoformat()
    params["sig"] = link_signature(couple_id, partner, generation, last_day, bound, data)
    return urlencode(params)


def partner_link(
    base_url: str,
    couple_id: str,
    partner: str,
    instrument: str = "weekly_checkin",
    week: Any = None,
    token: str | None = None,
    data: Any = None,
    expires: Any = None,
    store: Store | None = None,
) -> str:
    """A partner's full link into the app, e.g. ``http://127.0.0.1:8866/voila/render/...``."""
    query = link_query(couple_id, partner, week, data, expires, store)
    if token:
        query += "&" + urlencode({"token": token})
    return f"{base_url.rstrip('/')}/voila/render/{instrument}.ipynb?{query}"


def read_link_query(query_string: str, data: Any = None) -> dict[str, Any]:
    """A link's parameters, checked for form and signature only (not against the store).

    Returns
    -------
    dict
        ``{"couple_id", "partner", "week", "generation", "expires"}`` (``week`` is
        ``None`` when the link is not bound to one).

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
    gen_raw, exp_raw = one("gen", required=False), one("exp", required=False)
    if gen_raw is None or exp_raw is None:
        # A link made before links had generations and an expiry: retired on upgrade.
        raise LinkError(NOT_IN_USE)
    try:
        generation = int(gen_raw) if gen_raw.isdigit() and len(gen_raw) < 10 else -1
        expires = dt.date.fromisoformat(exp_raw) if len(exp_raw) == 10 else None
    except ValueError:
        expires = None
    if generation < 1 or expires is None:
        raise LinkError("it is not a valid link for this practice")
    expected = link_signature(couple_id, partner, generation, expires, week, data)
    if not hmac.compare_digest(signature, expected):
        raise LinkError("it is not a valid link for this practice")
    return {
        "couple_id": couple_id,
        "partner": partner,
        "week": week,
        "generation": generation,
        "expires": expires,
    }


def parse_link_query(
    query_string: str, data: Any = None, store: Store | None = None
) -> dict[str, Any]:
    """Read and check a partner link's query string: signed here, not expired, not revoked.

    Returns
    -------
    dict
        As :func:`read_link_query`.

    Raises
    ------
    LinkError
        For a malformed or foreign link (see :func:`read_link_query`), one past its expiry
        (``it has expired``), or one whose generation was revoked or whose couple was
        erased (``it is no longer in use``).
    StoreError
        When the store cannot be read (not the partner's fault: say so, not "bad link").
    """
    if store is not None:
        data = store.data_dir
    link = read_link_query(query_string, data)
    owned = store is None
    store = _open_store(data) if store is None else store
    try:
        store.check_link_live(link)
    finally:
        if owned:
            store.close()
    return link
