"""Personalised worksheet notebooks: papermill parameters injected, not executed.

``mutuality worksheet C001 --partner A`` copies the weekly check-in notebook with
``couple_id``, ``partner``, ``week`` and ``data_dir`` injected by papermill (as
an ``injected-parameters`` cell after the ``parameters`` cell) and writes it,
owner-only, into ``<data>/worksheets/``, ready to open in Jupyter or Voila. The
notebook is not run: a partner runs it to see the form.

papermill only *warns* about an unknown parameter and checks no types, so the
parameters are checked here first, before anything is written.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import config
from .exceptions import ParameterError, ValidationError
from .instruments import instruments
from .store import Store
from .validation import parse_couple_id, parse_partner, parse_week

#: Instrument id -> the notebook that holds its form.
WORKSHEET_NOTEBOOKS = {
    "weekly_checkin": "weekly_checkin.ipynb",
    "mutuality_inventory": "mutuality_inventory.ipynb",
}


def worksheet_name(couple_id: str, partner: str, instrument: str, week: Any) -> str:
    """``C001-A-weekly_checkin-2026-11-23.ipynb``: the pseudonymous id, never a name."""
    stamp = "any-week" if week is None else week.isoformat()
    return f"{couple_id}-{partner}-{instrument}-{stamp}.ipynb"


def write_worksheet(
    store: Store,
    couple_id: Any,
    partner: Any,
    week: Any = None,
    instrument: str = "weekly_checkin",
    template: str | os.PathLike | None = None,
) -> Path:
    """Write one partner's personalised worksheet notebook and return its path.

    Parameters
    ----------
    store
        The store of the data folder the worksheet will save into; the couple must exist.
    couple_id, partner
        Whose worksheet this is.
    week
        The week to answer (its Monday, ``YYYY-MM-DD``); ``None`` lets the form offer
        the current week.
    instrument
        ``weekly_checkin`` or ``mutuality_inventory``.
    template
        The notebook to personalise (default: the instrument's notebook in ``notebooks/``).

    Raises
    ------
    ParameterError
        For a bad parameter or an unknown instrument; nothing is written.
    UnknownCouple
        When the couple is not in the store.
    """
    # Imported here: nbformat pulls in jsonschema, slow to import, and the CLI starts often.
    import nbformat
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    if instrument not in WORKSHEET_NOTEBOOKS or instrument not in instruments():
        known = ", ".join(WORKSHEET_NOTEBOOKS)
        raise ParameterError(f"unknown worksheet {instrument!r} (known: {known})")
    data_dir = store.data_dir
    params = form_parameters(couple_id, partner, week, str(data_dir))
    store.require_couple(params["couple_id"])
    store.record_access(
        "worksheet", params["couple_id"], f"{instrument}, partner {params['partner']}"
    )
    source = Path(template) if template else config.NOTEBOOKS_DIR / WORKSHEET_NOTEBOOKS[instrument]
    try:
        # papermill's loader gives every cell the `tags` list its injector expects.
        nb = load_notebook_node(str(source))
    except (OSError, ValueError) as exc:
        raise ParameterError(f"cannot read the worksheet template {source}: {exc}") from None
    if not any("parameters" in c.metadata.get("tags", []) for c in nb.cells):
        raise ParameterError(f"{source.name} has no cell tagged 'parameters'")
    injected = {
        "couple_id": params["couple_id"],
        "partner": params["partner"],
        "week": None if params["week"] is None else params["week"].isoformat(),
        "data_dir": str(data_dir),
    }
    nb = parameterize_notebook(nb, injected)
    # Only the parameters go in: no outputs, no execution counts, no papermill run record.
    nb.metadata.pop("papermill", None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        if not cell.metadata.get("tags"):
            cell.metadata.pop("tags", None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nbformat.validate(nb)
    folder = config.private_dir(config.worksheets_dir(data_dir))
    target = folder / worksheet_name(
        params["couple_id"], params["partner"], instrument, params["week"]
    )
    config.private_file(target)
    # Write through the owner-only file (no window where it is world-readable).
    with open(target, "w", encoding="utf-8") as fh:
        nbformat.write(nb, fh)
    return target


def form_parameters(
    couple_id: Any, partner: Any, week: Any = None, data_dir: Any = None
) -> dict[str, Any]:
    """Check a worksheet notebook's parameters before any work (papermill checks no types).

    Raises
    ------
    ParameterError
        Naming the parameter at fault.
    """
    checks: list[tuple[str, Callable[[Any], Any], Any]] = [
        ("couple_id", parse_couple_id, couple_id),
        ("partner", parse_partner, partner),
    ]
    out: dict[str, Any] = {}
    for name, parse, raw in checks:
        try:
            out[name] = parse(raw)
        except ValidationError as exc:
            raise ParameterError(f"parameter {name}: {exc}") from None
    if week is None or week == "":
        out["week"] = None
    else:
        try:
            out["week"] = parse_week(week)
        except ValidationError as exc:
            raise ParameterError(f"parameter week: {exc}") from None
    if data_dir is not None and not isinstance(data_dir, str):
        raise ParameterError(f"parameter data_dir: expected a folder path, got {data_dir!r}")
    out["data_dir"] = data_dir or None
    return out
