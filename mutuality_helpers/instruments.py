"""Instruments as data: one YAML definition file per questionnaire.

Forms, validation, scoring and reports are generated from these definitions, so a
practice can add an instrument by dropping a file into ``definitions/`` without
touching code. :func:`load_instrument` validates a file and names the file and the
item at fault when it is malformed.

Item types: ``int`` and ``share`` (numbers in a range), ``tags`` (any of a list),
``choice`` (exactly one of a list, each choice with the words a person reads) and
``text``. Three keys serve the private safety check (``docs/method.md``, "The safety
check"):

- ``private: true``: the answer is for the therapist alone. It is never shown back to
  anyone else, nor to the partner who gave it when their form is reopened (someone may
  be looking over their shoulder: :attr:`Item.show_on_reopen` is False), never drawn in a
  chart, and a form saved again without it keeps the stored answer;
- ``risk: [choice, ...]`` (``choice`` items): the answers that raise an urgent alert;
- ``label``: a short name for the therapist (in alerts and reports), e.g. "Felt safe".

A numeric item may name the ends of its scale with ``low`` and ``high`` (what its
minimum and maximum mean, shown at the slider's ends); a top-level ``scale: {min, max,
low, high}`` gives them to every ``int`` item of that range that names none itself.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
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
#: The weekly check-in's instrument id: its answers are what "checked in" means.
CHECKIN = "weekly_checkin"
#: Domains whose weekly total is split between the partners.
SHARE_DOMAINS: tuple[str, ...] = DOMAINS[:4]
DOMAIN_LABELS: dict[str, str] = {
    "repair": "Repair after conflict",
    "connection": "Reaching for connection",
    "emotional_labour": "Emotional labour",
    "practical_load": "Practical load",
    "personal_work": "Personal work",
}
ITEM_TYPES = ("int", "share", "tags", "choice", "text")
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_KNOWN_KEYS = {
    "id", "type", "min", "max", "domain", "required", "wording", "help",
    "choices", "max_length", "reverse", "private", "risk", "label", "low", "high",
}  # fmt: skip
_SCALE_KEYS = {"min", "max", "low", "high"}


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
    #: What a person reads for each of ``choices`` (same order).
    choice_labels: tuple[str, ...] = ()
    #: For the therapist alone: never shown back, not even on reopening the form.
    private: bool = False
    #: ``choice`` answers that raise an urgent alert.
    risk: tuple[str, ...] = ()
    #: A short name for the therapist (alerts, reports); the wording when not given.
    label: str = ""
    #: What a numeric item's minimum and maximum mean (shown at the slider's ends).
    low: str = ""
    high: str = ""

    @property
    def is_numeric(self) -> bool:
        return self.type in ("int", "share")

    @property
    def show_on_reopen(self) -> bool:
        """May a reopened form show this item's saved answer again? Never for a private one."""
        return not self.private

    def choice_label(self, value: str) -> str:
        """The words a person read for the stored choice ``value`` (the value if unknown)."""
        labels = dict(zip(self.choices, self.choice_labels, strict=False))
        return labels.get(value, value)

    def signals_risk(self, value: str) -> bool:
        """Does this stored answer raise an urgent alert (one of the item's ``risk`` choices)?"""
        return value in self.risk

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
        if self.type == "choice":
            return self._parse_choice(raw)
        return parse_text(raw, f"{self.id}: text", self.max_length)

    def _parse_choice(self, raw: Any) -> str:
        text = str(raw).strip()
        if text and text not in self.choices:
            raise ValidationError(
                f"{self.id}: {shown(text)} is not one of the choices ({', '.join(self.choices)})"
            )
        return text  # "" clears an optional answer

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

    @property
    def private_items(self) -> list[str]:
        """Ids of the items for the therapist alone (``private: true``)."""
        return [it.id for it in self.items if it.private]


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
    choices, labels = _choices(path, where, item_type, raw.get("choices", ()))
    risk = raw.get("risk", ())
    if item_type != "choice" and risk:
        raise _fail(path, where, "risk applies to choice items only")
    if not isinstance(risk, list | tuple) or any(r not in choices for r in risk):
        raise _fail(path, where, f"risk must list some of the choices ({', '.join(choices)})")
    private = raw.get("private", False)
    if not isinstance(private, bool):
        raise _fail(path, where, "private must be true or false")
    label = raw.get("label", "")
    if not isinstance(label, str):
        raise _fail(path, where, "label must be text")
    ends = {key: raw.get(key, "") for key in ("low", "high")}
    if any(not isinstance(v, str) for v in ends.values()):
        raise _fail(path, where, "low and high must be text")
    if item_type not in ("int", "share") and any(ends.values()):
        raise _fail(path, where, f"low/high make no sense for type {item_type}")
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
        choices=choices,
        max_length=max_length,
        reverse=bool(raw.get("reverse", False)),
        choice_labels=labels,
        private=private,
        risk=tuple(risk),
        label=label.strip(),
        low=ends["low"].strip(),
        high=ends["high"].strip(),
    )


def _choices(
    path: Path, where: str, item_type: str, raw: Any
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The ids and labels of a ``tags`` or ``choice`` item's choices.

    A tag is a lower_snake_case id (read as its words); a choice is ``{id, label}``, the
    label being what a person reads.
    """
    if item_type not in ("tags", "choice"):
        if raw:
            raise _fail(path, where, f"choices make no sense for type {item_type}")
        return (), ()
    if item_type == "tags":
        if not raw or not all(isinstance(c, str) and _ID.match(c) for c in raw):
            raise _fail(path, where, "tags need a list of lower_snake_case choices")
        return tuple(raw), tuple(c.replace("_", " ") for c in raw)
    entries = raw if isinstance(raw, list) else []
    ok = len(entries) >= 2 and all(
        isinstance(c, dict)
        and set(c) == {"id", "label"}
        and isinstance(c["id"], str)
        and _ID.match(c["id"])
        and isinstance(c["label"], str)
        and c["label"].strip()
        for c in entries
    )
    if not ok:
        raise _fail(path, where, "a choice item needs two or more choices, each {id, label}")
    ids = tuple(c["id"] for c in entries)
    if len(set(ids)) != len(ids):
        raise _fail(path, where, "a choice id is used twice")
    return ids, tuple(c["label"].strip() for c in entries)


def _apply_scale(path: Path, scale: Any, items: tuple[Item, ...]) -> tuple[Item, ...]:
    """Give the instrument's ``scale`` end labels to its ``int`` items of that range."""
    if scale is None:
        return items
    ok = (
        isinstance(scale, dict)
        and set(scale) == _SCALE_KEYS
        and all(type(scale[k]) is int for k in ("min", "max"))
        and all(isinstance(scale[k], str) and scale[k].strip() for k in ("low", "high"))
    )
    if not ok:
        raise _fail(path, "top level", "scale must be {min, max, low, high} (numbers, words)")
    low, high = scale["low"].strip(), scale["high"].strip()
    return tuple(
        replace(it, low=it.low or low, high=it.high or high)
        if it.type == "int" and it.bounds == (scale["min"], scale["max"])
        else it
        for it in items
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
    items = _apply_scale(
        path, raw.get("scale"), tuple(_build_item(path, i, r) for i, r in enumerate(items_raw))
    )
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


def private_item_ids() -> set[str]:
    """Every private item id, across every instrument (never shown to a couple)."""
    return {i for inst in instruments().values() for i in inst.private_items}


def share_item(domain: str) -> str:
    """The weekly check-in item id holding a share domain."""
    return f"share_{domain}"
