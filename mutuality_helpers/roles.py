"""Who is using the workbook, and what they may see: therapists, supervisors, partners' links.

A practice lists its people in ``users.yaml`` in the data folder, one ``name: role`` a line,
the role ``therapist`` or ``supervisor``::

    anna: supervisor
    ben: therapist
    chloe: therapist

The file must be owner-only (``chmod 600``): it decides who sees which couples. A therapist
sees only their own couples (``couples.therapist``); a supervisor sees every couple and
assigns them (``mutuality assign``). A couple that belongs to nobody (made before therapists
were recorded, or by a supervisor) is a supervisor's until assigned.

Who you are (:func:`identify`):

- under JupyterHub, the hub's login: ``JUPYTERHUB_USER``, which JupyterHub puts in the
  environment of each user's own server and its kernels;
- elsewhere, ``mutuality --as NAME`` (which sets ``MUTUALITY_AS`` for the kernels and workers
  the command starts), else the computer account's login name;
- a listed therapist may not act as anyone else (``--as`` another name is refused); a
  supervisor may.

Without a ``users.yaml`` the workbook is one person's, as on a laptop: the local user is a
supervisor and sees everything. A partner's form (a signed link) acts for its one couple only.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import config
from .exceptions import AccessDenied, SettingsError

USERS_FILE = "users.yaml"
HUB_USER_ENV = "JUPYTERHUB_USER"
#: Set by ``mutuality --as NAME``: the kernels and workers a command starts act as NAME too.
AS_ENV = "MUTUALITY_AS"
THERAPIST = "therapist"
SUPERVISOR = "supervisor"
PARTNER = "partner"
ROLES = (THERAPIST, SUPERVISOR)
# JupyterHub's user names, and login names: letters, digits and . _ @ - (at most 64).
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


@dataclass(frozen=True)
class Identity:
    """Who is acting: a name, a role, and (for a partner's form) the one couple it may touch."""

    name: str
    role: str
    couple_id: str | None = None

    @property
    def sees_all(self) -> bool:
        """A supervisor sees (and may assign) every couple."""
        return self.role == SUPERVISOR


def partner_identity(couple_id: str, partner: str) -> Identity:
    """The identity of a partner's form: it sees and saves its own couple only."""
    return Identity(f"partner {partner} of {couple_id}", PARTNER, couple_id)


def parse_name(raw: Any, where: str = "user name") -> str:
    """A user name as JupyterHub and login names spell them; SettingsError otherwise."""
    name = str(raw).strip() if isinstance(raw, str | int) else ""
    if not _NAME.fullmatch(name):
        shown = str(raw)[:40].encode("unicode_escape").decode("ascii")
        raise SettingsError(
            f"{where}: {shown!r} is not a user name (letters, digits and . _ @ -, at most 64)"
        )
    return name


def users_path(data: Any = None) -> Path:
    return config.data_dir(data) / USERS_FILE


def read_users(data: Any = None) -> dict[str, str] | None:
    """The practice's users, name -> role, from ``users.yaml``; None when there is none.

    Raises
    ------
    SettingsError
        For a file others may read or write, that cannot be read, is not a mapping of names
        to roles, or names a role other than therapist or supervisor.
    """
    path = users_path(data)
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SettingsError(f"{path} must be owner-only: run chmod 600 {path}")
    import yaml

    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SettingsError(f"{path}: cannot be read: {first}") from None
    if not isinstance(raw, dict) or not raw:
        raise SettingsError(f"{path}: must list the practice's users, one 'name: role' a line")
    users = {}
    for key, role in raw.items():
        name = parse_name(key, str(path))
        if role not in ROLES:
            raise SettingsError(
                f"{path}: {name}: the role must be therapist or supervisor, not {role!r}"
            )
        users[name] = role
    return users


def login_name() -> str:
    """This computer account's name ("" when it has none, as in some containers)."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


def identify(data: Any = None, name: str | None = None) -> Identity:
    """Who is acting on the data folder ``data`` (see the module's docstring for the rules).

    Parameters
    ----------
    name
        The name asked for (``--as``); default ``MUTUALITY_AS``, else the JupyterHub login,
        else the login name.

    Raises
    ------
    AccessDenied
        When the name is not in ``users.yaml``, or a therapist asks to act as someone else.
    SettingsError
        For a malformed ``users.yaml`` or name.
    """
    claimed = name or os.environ.get(AS_ENV) or None
    hub = os.environ.get(HUB_USER_ENV) or None
    account = hub or login_name()
    users = read_users(data)
    if users is None:  # one person's workbook: whoever it is sees everything
        who = claimed or account or "local"
        return Identity(parse_name(who, "--as" if claimed else "your login name"), SUPERVISOR)
    path = users_path(data)
    who = parse_name(claimed, "--as") if claimed else account
    if hub and hub not in users:
        raise AccessDenied(f"{hub} is not a user of this practice ({path}); ask a supervisor")
    if who != account and users.get(account) == THERAPIST:
        raise AccessDenied(f"you are {account}: a therapist cannot act as {who}")
    if who not in users:
        hint = "" if claimed else " (name yourself with --as NAME)"
        raise AccessDenied(f"{who or 'this account'} is not a user of this practice ({path}){hint}")
    return Identity(who, users[who])
