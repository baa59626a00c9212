"""A partner's link handout: one printed page with their link, as text and as a QR code.

``mutuality links COUPLE`` makes each partner's link (:mod:`~mutuality_helpers.links`:
signed with the partner's generation, an expiry, optionally one week) and prints, per
partner, one page the therapist can hand over at the end of a session: the link, a QR code
of it (:mod:`segno`, vector SVG, so it prints sharp at any size), until when it works, and
the practice's urgent-help line. The page is HTML from ``templates/html/handout.html.j2``
printed by WeasyPrint through :func:`~mutuality_helpers.pdf.write_pdf` (atomic,
owner-only), like the session reports.

File names carry the couple id and the partner letter only (``C007-A-weekly_checkin.pdf``),
in ``<data>/reports/handouts/`` or a folder of the therapist's choosing. The link is the
key to the partner's form: the page says so, and ``mutuality revoke`` retires it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import config
from .exceptions import SettingsError
from .links import link_query, read_link_query

if TYPE_CHECKING:
    from .store import Store

#: The forms a handout can point to, and what the page calls them.
FORM_TITLES = {
    "weekly_checkin": "weekly check-in",
    "mutuality_inventory": "mutuality inventory",
}


@dataclass(frozen=True)
class Handout:
    """One partner's link and the PDF page that carries it."""

    couple_id: str
    partner: str
    link: str
    expires: dt.date
    week: dt.date | None
    path: Path


def handouts_dir(data: Any = None) -> Path:
    """Where handouts go unless told otherwise: ``<data>/reports/handouts``."""
    return config.reports_dir(data) / "handouts"


def handout_name(couple_id: str, partner: str, instrument: str) -> str:
    """The handout's file name: pseudonymous (the couple id, the partner letter, the form)."""
    return f"{couple_id}-{partner}-{instrument}.pdf"


def qr_svg_uri(text: str) -> str:
    """A QR code of ``text`` as an SVG data URI (error correction M, a four-module margin)."""
    import segno

    return str(segno.make(text, error="m", micro=False).svg_data_uri(scale=4, border=4))


def handout_html(
    link: str, title: str, name: str, expires: dt.date, week: dt.date | None, help_line: str
) -> str:
    """The handout page's HTML (autoescaped: a display name stays text)."""
    from .presentation import fragment

    return fragment(
        "handout.html.j2", "page", link, qr_svg_uri(link), title, name, expires, week, help_line
    )


def resolve_base_url(base_url: str | None, data: Any = None) -> str:
    """The start of the links: ``base_url`` if given, else the practice's ``public_url``.

    Raises
    ------
    SettingsError
        When neither is set (a link to 127.0.0.1 is of no use to a partner at home).
    """
    from .practice import public_url
    from .serve import check_public_url

    if base_url:
        return check_public_url(base_url)
    found = public_url(data)
    if not found:
        raise SettingsError(
            "no address for the links: put `public_url: https://checkin.example.org` in "
            f"{config.data_dir(data) / 'practice.yaml'} or pass --base-url URL"
        )
    return found


def make_handouts(
    store: Store,
    couple_id: str,
    base_url: str,
    instrument: str = "weekly_checkin",
    week: Any = None,
    expires: int | None = None,
    out: Path | None = None,
    token: str | None = None,
) -> list[Handout]:
    """Both partners' links for ``couple_id``, each printed on a one-page handout PDF.

    ``out`` is the folder (default :func:`handouts_dir`); an existing one is left as it is
    (its permissions too), a new one is made owner-only. Each PDF is owner-only.
    """
    from urllib.parse import urlencode

    from .pdf import write_pdf
    from .practice import urgent_help_for_forms

    couple = store.get_couple(store.require_couple(couple_id))
    folder = Path(out) if out is not None else handouts_dir(store.data_dir)
    default = folder.resolve() == handouts_dir(store.data_dir).resolve()
    lock_folder = out is None or not folder.exists()
    paths = {p: folder / handout_name(couple["couple_id"], p, instrument) for p in ("A", "B")}
    if not default:
        # Never into the program's own paths (the data folder itself, backups/, reports/...),
        # nor over one of its files: every path is checked before anything is written.
        config.refuse_owned(folder, store.data_dir)
        for path in paths.values():
            config.refuse_owned(path, store.data_dir)
    help_line = urgent_help_for_forms(store.data_dir)
    made = []
    for partner in ("A", "B"):
        query = link_query(couple["couple_id"], partner, week, expires=expires, store=store)
        parsed = read_link_query(query, store.data_dir)
        if token:
            query += "&" + urlencode({"token": token})
        link = f"{base_url.rstrip('/')}/voila/render/{instrument}.ipynb?{query}"
        html = handout_html(
            link,
            FORM_TITLES[instrument],
            couple[f"name_{partner.lower()}"],
            parsed["expires"],
            parsed["week"],
            help_line,
        )
        path = paths[partner]
        write_pdf(html, path, lock_folder=lock_folder)
        made.append(
            Handout(couple["couple_id"], partner, link, parsed["expires"], parsed["week"], path)
        )
    return made
