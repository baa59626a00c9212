"""The session report's requests: its parameters, their validation, and what is due.

``notebooks/session_report.ipynb`` is wiring only: its ``parameters`` cell names
the parameters below, and each later cell shows one section of a
:class:`~mutuality_helpers.sections.SessionReport`. :mod:`mutuality_helpers.render`
executes that notebook (papermill), exports it without code and prints it (:mod:`pdf`);
:func:`plan` turns a ``mutuality report`` command line into validated requests.

Parameters are checked twice, both times *before any work*: by the renderer before
a kernel is touched (so a bad request never costs a Jupyter start-up and never
leaves a file behind), and again inside the notebook (so running the notebook with
plain papermill, which only *warns* about an unknown parameter, fails just as
clearly).

Every piece of text that people typed (names, notes, agreements, season notes,
reflections) is HTML-escaped before it reaches the page (the templates of
:mod:`~mutuality_helpers.presentation`); reflections reach it only when
``include_reflections`` is true.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from . import config
from .exceptions import (
    MutualityError,
    ParameterError,
    ReportError,
    UnknownSession,
    ValidationError,
)
from .thresholds import Thresholds
from .validation import parse_couple_id, parse_date, week_of
from .voila_guard import refusal_message, under_voila

if TYPE_CHECKING:
    from .sections import ReportNotice, SessionReport
    from .store import Store

#: What the report notebook says when it is opened as it is, with no parameters filled in.
TEMPLATE_NOTICE = (
    "This notebook is the template of the PDF session report; opened as it is, it shows "
    "no couple. Render a report with `mutuality report COUPLE --session N`."
)

PAPERS: tuple[str, ...] = ("A4", "Letter")
THRESHOLD_NAMES: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Thresholds))
#: Every parameter of ``session_report.ipynb``, with its default (None: required).
PARAMETERS: dict[str, Any] = {
    "couple_id": None,
    "session": None,
    "as_of": None,
    "data_dir": None,
    **dataclasses.asdict(Thresholds()),
    "include_reflections": False,
    "paper": "A4",
}
#: Notebook globals that are IPython's, not parameters.
_IPYTHON_NAMES = frozenset({"In", "Out", "get_ipython", "exit", "quit", "open"})


@dataclass(frozen=True)
class ReportRequest:
    """A validated report request: everything needed to render one session's PDF."""

    couple_id: str
    session: int
    as_of: dt.date
    data_dir: Path
    thresholds: Thresholds
    include_reflections: bool = False
    paper: str = "A4"

    @property
    def output(self) -> Path:
        """Where the PDF goes: ``<data>/reports/<couple_id>/session-<n>.pdf``."""
        return config.report_path(self.couple_id, self.session, self.data_dir)

    def notebook_parameters(self) -> dict[str, Any]:
        """The notebook's parameters as plain JSON values (what papermill injects)."""
        return {
            "couple_id": self.couple_id,
            "session": self.session,
            "as_of": self.as_of.isoformat(),
            "data_dir": str(self.data_dir),
            **dataclasses.asdict(self.thresholds),
            "include_reflections": self.include_reflections,
            "paper": self.paper,
        }


# -- parameters ---------------------------------------------------------------------------


def _unknown(name: str) -> ParameterError:
    close = difflib.get_close_matches(name, PARAMETERS, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return ParameterError(f"unknown report parameter {name!r}{hint}")


def check_parameters(params: Mapping[str, Any]) -> dict[str, Any]:
    """Check parameter names and types, without touching the store.

    Returns
    -------
    dict
        Every parameter (defaults filled in), values in canonical form; thresholds
        are gathered into a :class:`~mutuality_helpers.analysis.Thresholds` under
        ``"thresholds"``.

    Raises
    ------
    ParameterError
        An unknown (misspelt) or missing parameter, or a value of the wrong type.
    """
    for name in params:
        if name not in PARAMETERS:
            raise _unknown(name)
    values = {**PARAMETERS, **params}
    for name in ("couple_id", "session"):
        if values[name] is None:
            raise ParameterError(f"report parameter {name} is required")
    try:
        couple_id = parse_couple_id(values["couple_id"])
    except ValidationError as exc:  # same message, the parameter's error type
        raise ParameterError(str(exc)) from None
    session = values["session"]
    if isinstance(session, str) and session.strip().isdigit():
        session = int(session)
    if isinstance(session, bool) or not isinstance(session, int) or session < 1:
        raise ParameterError(f"report parameter session must be a number from 1, got {session!r}")
    as_of = values["as_of"]
    if as_of is not None and as_of != "":
        try:
            as_of = week_of(parse_date(as_of, "as_of"))
        except ValidationError as exc:
            raise ParameterError(str(exc)) from None
    else:
        as_of = None
    include = values["include_reflections"]
    if not isinstance(include, bool):
        raise ParameterError(
            f"report parameter include_reflections must be True or False, got {include!r}"
        )
    paper = values["paper"]
    matches = [p for p in PAPERS if isinstance(paper, str) and p.lower() == paper.strip().lower()]
    if not matches:
        raise ParameterError(
            f"report parameter paper must be one of {', '.join(PAPERS)}, got {paper!r}"
        )
    # Thresholds checks each value's type and range (ParameterError naming the threshold).
    thresholds = Thresholds(**{name: values[name] for name in THRESHOLD_NAMES})
    data = values["data_dir"]
    return {
        "couple_id": couple_id,
        "session": session,
        "as_of": as_of,
        "data_dir": config.data_dir(data if data not in (None, "") else None),
        "thresholds": thresholds,
        "include_reflections": include,
        "paper": matches[0],
    }


def validate_request(params: Mapping[str, Any], store: Store | None = None) -> ReportRequest:
    """Validate a report request completely (names, types, couple, session, answers).

    Parameters
    ----------
    params
        Notebook parameters by name (see :data:`PARAMETERS`).
    store
        An open store of the same data folder; opened (read-only use) when None.

    Raises
    ------
    ParameterError, UnknownCouple, UnknownSession
        With one line naming what is wrong.
    """
    from .store import Store

    checked = check_parameters(params)
    data_dir: Path = checked["data_dir"]
    if store is None:
        _require_store(data_dir)
        with Store(data_dir) as opened:
            return _check_against_store(checked, opened)
    return _check_against_store(checked, store)


def _require_store(data_dir: Path) -> Path:
    # Opening a Store would create one: a misspelt folder must not grow a store.
    # A server store (MUTUALITY_STORE) is checked when opened; a file must be there already.
    if config.store_url() is None and not config.store_path(data_dir).is_file():
        raise ParameterError(f"no Mutuality store in {data_dir}")
    return data_dir


# The items whose first answer makes a couple reportable (the weekly check-in's own scales).
CHECKIN_ITEMS = ("energy", "teamwork")


def _check_against_store(checked: dict[str, Any], store: Store) -> ReportRequest:
    couple_id = store.require_couple(checked["couple_id"])
    session = store.session(couple_id, checked["session"])  # UnknownSession
    spans = store.answer_spans(items=CHECKIN_ITEMS, couple_ids=[couple_id])
    first_week = spans["first_week"].min() if not spans.empty else None
    return _request({**checked, "couple_id": couple_id}, session, first_week)


def _request(checked: dict[str, Any], session: Mapping[str, Any], first_week: Any) -> ReportRequest:
    """The request for a session of the store, given the couple's first check-in week (or None)."""
    couple_id = checked["couple_id"]
    as_of = checked["as_of"] or session["as_of"].date()
    if first_week is None or first_week.date() > as_of:
        raise ParameterError(
            f"couple {couple_id} has no answers up to the week of {as_of.isoformat()}: "
            "nothing to report"
        )
    return ReportRequest(
        couple_id=couple_id,
        session=int(session["number"]),
        as_of=as_of,
        data_dir=Path(checked["data_dir"]),
        thresholds=checked["thresholds"],
        include_reflections=checked["include_reflections"],
        paper=checked["paper"],
    )


def check_namespace(namespace: Mapping[str, Any]) -> dict[str, Any]:
    """Pick the parameters out of a notebook's globals; refuse any stray name.

    papermill injects unknown parameters as new variables and only warns; in the
    report notebook every user variable defined before this call must be a parameter.
    """
    params = {}
    for name, value in namespace.items():
        if name.startswith("_") or name in _IPYTHON_NAMES or isinstance(value, ModuleType):
            continue
        if callable(value):
            continue
        if name not in PARAMETERS:
            raise _unknown(name)
        params[name] = value
    return params


def prepare(**params: Any) -> SessionReport | ReportNotice:
    """Validate the notebook's parameters and build the report (inside the report kernel).

    Under Voila, and when the notebook runs with every parameter at its default (opened
    as it is, e.g. by ``pytest --nbval-lax notebooks/``), a :class:`ReportNotice` instead.
    """
    from .sections import ReportNotice, SessionReport
    from .store import Store

    if under_voila():
        return ReportNotice(refusal_message("The session report"))
    if all(params.get(name, default) == default for name, default in PARAMETERS.items()):
        return ReportNotice(TEMPLATE_NOTICE)
    data_dir = _require_store(check_parameters(params)["data_dir"])
    with Store(data_dir) as store:  # opened once: validation and content share it
        request = validate_request(params, store)
        report = SessionReport(request, store)
        store.record_access("report", request.couple_id, f"session {request.session}")
        return report


# -- what a command line asks for ----------------------------------------------------------------


def plan(
    store: Store,
    couple: str | None = None,
    session: int | None = None,
    all_sessions: bool = False,
    force: bool = False,
    **options: Any,
) -> tuple[list[ReportRequest], list[str]]:
    """Turn a ``mutuality report`` command line into validated requests.

    One report (``couple`` with ``session``, default its latest) is validated
    strictly: a bad request raises. With ``all_sessions`` every due session of
    ``couple`` (or of every couple, see :meth:`Store.due_sessions`) is validated and the
    ones that cannot be reported (say, no answers yet) come back as one-line reasons.

    ``options`` are further report parameters (``as_of``, ``include_reflections``,
    ``paper``, thresholds).
    """
    base = {"data_dir": str(store.data_dir), **options}
    if not all_sessions:
        if couple is None:
            raise ReportError("name a couple (mutuality report COUPLE --session N) or use --all")
        if session is None:
            couple = store.require_couple(couple)
            numbers = store.sessions(couple)["number"]
            if numbers.empty:
                raise ReportError(f"couple {couple} has no sessions yet (mutuality session ...)")
            session = int(numbers.max())
        return [validate_request({**base, "couple_id": couple, "session": session}, store)], []
    if session is not None:
        raise ReportError("--all renders every due session; leave out --session")
    if options.get("as_of"):
        raise ReportError(
            "--as-of applies to one report; each session is judged as of its own week"
        )
    couples = [store.require_couple(couple)] if couple is not None else None
    due = store.due_sessions(couples, force)
    # Validated together: three reads for the whole caseload, not three per session.
    due_couples = sorted({couple_id for couple_id, _ in due})
    sessions = store.sessions(due_couples).set_index(["couple_id", "number"])
    spans = store.answer_spans(items=CHECKIN_ITEMS, couple_ids=due_couples)
    first_weeks = spans.groupby("couple_id")["first_week"].min().to_dict()
    requests, skipped = [], []
    for couple_id, number in due:
        try:
            checked = check_parameters({**base, "couple_id": couple_id, "session": number})
            if (couple_id, number) not in sessions.index:  # deleted since due_sessions read it
                raise UnknownSession(f"couple {couple_id} has no session {number}")
            row = {"number": number, **sessions.loc[(couple_id, number)].to_dict()}
            requests.append(_request(checked, row, first_weeks.get(couple_id)))
        except MutualityError as exc:
            skipped.append(f"{couple_id} session {number}: skipped: {exc}")
    return requests, skipped
