"""Instruments as data: one YAML definition file per questionnaire.

Forms, validation, scoring and reports are generated from these definitions, so a
practice can add an instrument by dropping a file into ``definitions/`` without
touching code. :func:`load_instrument` validates a file and names the file and the
item at fault when it is malformed.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from .config import DEFINITIONS_DIR
from .exceptions import InstrumentError, ValidationError
from .validation import parse_text, shown

#: The five domains of relational lifting, in report order.
DOMAINS: tuple[str, ...] = (
    "repair",
    "connection",
    "emotional_labour",
    "practical_load",
    "personal_work",
)
#: Domains whose weekly total is split between the partners.
SHARE_DOMAINS: tuple[str, ...] = DOMAINS[:4]
DOMAIN_LABELS: dict[str, str] = {
    "repair": "Repair after conflict",
    "connection": "Reaching for connection",
    "emotional_labour": "Emotional labour",
    "practical_load": "Practical load",
    "personal_work": "Personal work",
}
ITEM_TYPES = ("int", "share", "tags", "text")
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_KNOWN_KEYS = {
    "id", "type", "min", "max", "domain", "required", "wording", "help",
    "choices", "max_length", "reverse",
}  # fmt: skip


@dataclass(frozen=True)
class Item:
    """One question of an instrument."""

    id: str
    type: str
    wording: str
    help: str = ""
    required: bool = False
    domain: str | None = None
    min: int | None = None
    max: int | None = None
    choices: tuple[str, ...] = ()
    max_length: int = 4000
    reverse: bool = False

    @property
    def is_numeric(self) -> bool:
        return self.type in ("int", "share")

    @property
    def bounds(self) -> tuple[int, int]:
        """``(min, max)`` of a numeric item (:func:`load_instrument` gives it both)."""
        if self.min is None or self.max is None:
            raise InstrumentError(f"item {self.id!r} has no min and max")
        return self.min, self.max

    def parse(self, raw: Any) -> str:
        """Check ``raw`` against this item and return its canonical stored text.

        Raises
        ------
        ValidationError
            With a one-line reason that names the item.
        """
        if raw is None or (isinstance(raw, float) and math.isnan(raw)):
            raw = ""
        if self.is_numeric:
            return self._parse_int(raw)
        if self.type == "tags":
            return self._parse_tags(raw)
        return parse_text(raw, f"{self.id}: text", self.max_length)

    def _parse_int(self, raw: Any) -> str:
        if isinstance(raw, bool):
            raise ValidationError(f"{self.id}: expected a whole number, got {raw!r}")
        if isinstance(raw, float):
            if not raw.is_integer():
                raise ValidationError(f"{self.id}: expected a whole number, got {raw!r}")
            raw = int(raw)
        text = str(raw).strip()
        if not text:
            raise ValidationError(f"{self.id}: a value is required")
        if not re.fullmatch(r"[+-]?\d{1,9}", text):
            raise ValidationError(f"{self.id}: expected a whole number, got {shown(text)}")
        value = int(text)
        lo, hi = self.bounds
        if not (lo <= value <= hi):
            raise ValidationError(f"{self.id}: {value} is outside {lo}-{hi}")
        return str(value)

    def _parse_tags(self, raw: Any) -> str:
        if isinstance(raw, (list, tuple, set, frozenset)):
            tags = [str(t).strip() for t in raw]
        else:
            tags = [t.strip() for t in str(raw).split(";")]
        tags = [t for t in tags if t]
        unknown = [t for t in tags if t not in self.choices]
        if unknown:
            raise ValidationError(
                f"{self.id}: unknown tag {unknown[0]!r} (choose from {', '.join(self.choices)})"
            )
        # Canonical order is the definition's order, without repeats.
        return ";".join(c for c in self.choices if c in tags)


@dataclass(frozen=True)
class Instrument:
    """A questionnaire: its items plus what is needed to score it."""

    id: str
    title: str
    intro: str
    items: tuple[Item, ...]
    reliability: float | None = None
    sd: float | None = None
    source: Path | None = field(default=None, compare=False)

    def item(self, item_id: str) -> Item:
        for it in self.items:
            if it.id == item_id:
                return it
        raise KeyError(item_id)

    @property
    def item_ids(self) -> list[str]:
        return [it.id for it in self.items]


def _fail(path: Path, where: str, why: str) -> InstrumentError:
    return InstrumentError(f"{path.name}: {where}: {why}")


def _build_item(path: Path, index: int, raw: Any) -> Item:
    where = f"item {index + 1}"
    if not isinstance(raw, dict):
        raise _fail(path, where, "must be a mapping of keys to values")
    item_id = raw.get("id")
    if not isinstance(item_id, str) or not _ID.match(item_id):
        raise _fail(path, where, f"id {item_id!r} must be lower_snake_case")
    where = f"item {item_id!r}"
    unknown = set(raw) - _KNOWN_KEYS
    if unknown:
        raise _fail(path, where, f"unknown key(s) {', '.join(sorted(unknown))}")
    item_type = raw.get("type")
    if item_type not in ITEM_TYPES:
        raise _fail(path, where, f"type {item_type!r} must be one of {', '.join(ITEM_TYPES)}")
    wording = raw.get("wording")
    if not isinstance(wording, str) or not wording.strip():
        raise _fail(path, where, "wording is required")
    domain = raw.get("domain")
    if domain is not None and domain not in DOMAINS:
        raise _fail(path, where, f"domain {domain!r} must be one of {', '.join(DOMAINS)}")
    lo, hi = raw.get("min"), raw.get("max")
    if item_type == "share":
        if domain not in SHARE_DOMAINS:
            raise _fail(path, where, "a share item needs a share domain")
        lo, hi = (0 if lo is None else lo), (100 if hi is None else hi)
        if (lo, hi) != (0, 100):
            raise _fail(path, where, "a share is a percentage: min 0, max 100")
    if item_type in ("int", "share"):
        if not (isinstance(lo, int) and isinstance(hi, int)) or isinstance(lo, bool) or lo >= hi:
            raise _fail(path, where, "needs whole-number min and max with min < max")
    elif lo is not None or hi is not None:
        raise _fail(path, where, f"min/max make no sense for type {item_type}")
    choices = raw.get("choices", ())
    if item_type == "tags":
        if not choices or not all(isinstance(c, str) and _ID.match(c) for c in choices):
            raise _fail(path, where, "tags need a list of lower_snake_case choices")
    elif choices:
        raise _fail(path, where, f"choices make no sense for type {item_type}")
    max_length = raw.get("max_length", 4000)
    if not isinstance(max_length, int) or max_length < 1:
        raise _fail(path, where, "max_length must be a positive whole number")
    return Item(
        id=item_id,
        type=item_type,
        wording=wording.strip(),
        help=str(raw.get("help") or "").strip(),
        required=bool(raw.get("required", False)),
        domain=domain,
        min=lo,
        max=hi,
        choices=tuple(choices),
        max_length=max_length,
        reverse=bool(raw.get("reverse", False)),
    )


def load_instrument(path: str | Path) -> Instrument:
    """Load and validate one instrument definition file.

    Raises
    ------
    InstrumentError
        Naming the file and the item at fault.
    """
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InstrumentError(f"{path.name}: cannot be read: {first}") from None
    if not isinstance(raw, dict):
        raise _fail(path, "top level", "must be a mapping")
    inst_id = raw.get("id")
    if not isinstance(inst_id, str) or not _ID.match(inst_id):
        raise _fail(path, "top level", f"id {inst_id!r} must be lower_snake_case")
    items_raw = raw.get("items")
    if not isinstance(items_raw, list) or not items_raw:
        raise _fail(path, "top level", "items must be a non-empty list")
    items = tuple(_build_item(path, i, r) for i, r in enumerate(items_raw))
    seen: set[str] = set()
    for it in items:
        if it.id in seen:
            raise _fail(path, f"item {it.id!r}", "id is used twice")
        seen.add(it.id)
    reliability, sd = raw.get("reliability"), raw.get("sd")
    if reliability is not None and not (
        isinstance(reliability, (int, float)) and 0 < reliability < 1
    ):
        raise _fail(path, "top level", "reliability must be between 0 and 1")
    if sd is not None and not (isinstance(sd, (int, float)) and sd > 0):
        raise _fail(path, "top level", "sd must be a positive number")
    return Instrument(
        id=inst_id,
        title=str(raw.get("title") or inst_id),
        intro=str(raw.get("intro") or "").strip(),
        items=items,
        reliability=reliability,
        sd=sd,
        source=path,
    )


@lru_cache(maxsize=1)
def _all_instruments(definitions_dir: str) -> dict[str, Instrument]:
    instruments: dict[str, Instrument] = {}
    owner: dict[str, str] = {}
    for path in sorted(Path(definitions_dir).glob("*.yaml")):
        inst = load_instrument(path)
        if inst.id in instruments:
            raise _fail(path, "top level", f"instrument id {inst.id!r} is used twice")
        for it in inst.items:
            if it.id in owner:
                raise _fail(path, f"item {it.id!r}", f"id is already used by {owner[it.id]}")
            owner[it.id] = inst.id
        instruments[inst.id] = inst
    return instruments


def instruments() -> dict[str, Instrument]:
    """Every instrument shipped in ``definitions/``, by id."""
    return _all_instruments(str(DEFINITIONS_DIR))


def get_instrument(instrument_id: str) -> Instrument:
    try:
        return instruments()[instrument_id]
    except KeyError:
        known = ", ".join(instruments())
        raise InstrumentError(f"unknown instrument {instrument_id!r} (known: {known})") from None


def find_item(item_id: str) -> tuple[Instrument, Item]:
    """The instrument and item for an item id, across every instrument.

    Raises
    ------
    ValidationError
        When no instrument has such an item.
    """
    for inst in instruments().values():
        for it in inst.items:
            if it.id == item_id:
                return inst, it
    clipped = item_id if len(item_id) <= 40 else item_id[:37] + "..."
    raise ValidationError(f"unknown item {clipped!r}")


def share_item(domain: str) -> str:
    """The weekly check-in item id holding a share domain."""
    return f"share_{domain}"
