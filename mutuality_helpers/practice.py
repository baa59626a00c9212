"""The practice's own settings: the line every form shows on how to reach urgent help, the
address partners reach the forms at (:func:`public_url`), and who is marking an alert when
nobody says (:func:`current_user`).

A partner may open a form while afraid, so every worksheet form (the weekly check-in and
the inventory, and the notice shown instead of a form whose link does not work) shows one
line on how to reach urgent help. The practice sets it, first found wins:

1. the ``MUTUALITY_URGENT_HELP`` environment variable (e.g. for a server's service file);
2. ``urgent_help:`` in ``practice.yaml`` in the data folder;
3. otherwise :data:`DEFAULT_URGENT_HELP`, which points to the local emergency number.

A malformed setting is refused with one line by :func:`urgent_help` (``mutuality serve``
checks it before it starts); a form never fails over it, it shows the default instead
(:func:`urgent_help_for_forms`): a way to reach help must always be on the page.
"""

from __future__ import annotations

import getpass
import os
from typing import Any

from . import config
from .exceptions import SettingsError, ValidationError
from .validation import parse_text

PRACTICE_FILE = config.PRACTICE_NAME
URGENT_HELP_ENV = "MUTUALITY_URGENT_HELP"
#: What every form says when the practice has set nothing.
DEFAULT_URGENT_HELP = (
    "Call your local emergency number if you are in danger or afraid for your safety "
    "right now. You do not have to finish this form first."
)
#: A setting is one line of at most this many characters.
URGENT_HELP_LIMIT = 500
_KNOWN_KEYS = {"urgent_help", "public_url"}


def _checked(text: Any, where: str) -> str:
    if not isinstance(text, str):
        raise SettingsError(f"{where}: urgent_help must be text")
    try:
        line = parse_text(text, f"{where}: urgent_help", URGENT_HELP_LIMIT).strip()
    except ValidationError as exc:
        raise SettingsError(str(exc)) from None
    if not line:
        raise SettingsError(f"{where}: urgent_help is empty")
    if any(ch in line for ch in "\r\n"):
        raise SettingsError(f"{where}: urgent_help must be one line")
    return line


def settings(data: Any = None) -> dict[str, str]:
    """The practice's settings from ``practice.yaml`` in the data folder ({} without one).

    Raises
    ------
    SettingsError
        For a file that cannot be read, is not a mapping, or has an unknown or bad key.
    """
    path = config.data_dir(data) / PRACTICE_FILE
    if not path.is_file():
        return {}
    import yaml

    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SettingsError(f"{path}: cannot be read: {first}") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise SettingsError(f"{path}: must be a mapping of settings (urgent_help: ...)")
    unknown = set(map(str, raw)) - _KNOWN_KEYS
    if unknown:
        raise SettingsError(f"{path}: unknown setting(s) {', '.join(sorted(unknown))}")
    out = {}
    if "urgent_help" in raw:
        out["urgent_help"] = _checked(raw["urgent_help"], str(path))
    if "public_url" in raw:
        out["public_url"] = _checked_url(raw["public_url"], str(path))
    return out


def _checked_url(url: Any, where: str) -> str:
    from .exceptions import ServeError
    from .serve import check_public_url

    if not isinstance(url, str):
        raise SettingsError(f"{where}: public_url must be text, e.g. https://checkin.example.org")
    try:
        return check_public_url(url)
    except ServeError as exc:
        raise SettingsError(f"{where}: {str(exc).replace('--public-url', 'public_url')}") from None


def public_url(data: Any = None) -> str | None:
    """The address partners reach the form server at (``public_url:`` in ``practice.yaml``).

    Where partner links start (``mutuality links``, ``mutuality serve --links``) when no
    address is given on the command line; None when not set.

    Raises
    ------
    SettingsError
        When ``practice.yaml`` is malformed or the address is not ``http(s)://host[:port]``.
    """
    return settings(data).get("public_url")


def urgent_help(data: Any = None) -> str:
    """The line every form shows on how to reach urgent help (see the module's docstring).

    Raises
    ------
    SettingsError
        When the environment variable or ``practice.yaml`` holds a bad setting.
    """
    env = os.environ.get(URGENT_HELP_ENV)
    if env is not None and env.strip():
        return _checked(env, URGENT_HELP_ENV)
    return settings(data).get("urgent_help", DEFAULT_URGENT_HELP)


def urgent_help_for_forms(data: Any = None) -> str:
    """:func:`urgent_help`, or the default when the setting is broken (a form never fails)."""
    try:
        return urgent_help(data)
    except (SettingsError, OSError, TypeError, ValueError):
        # Whatever is wrong with the setting (or the folder), the page still says where help is.
        return DEFAULT_URGENT_HELP


def current_user() -> str:
    """Who marks an alert when nobody says: this computer account's name ("" if none)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this account (some containers)
        return ""
