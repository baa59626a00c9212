"""The session workbook's "PDF report" button: the chosen session's report, from the workbook.

The therapist has the session open; one click prints its report for the clinical record,
exactly as ``mutuality report COUPLE --session N`` does (the same validation, the same
file, owner-only, named by the couple's pseudonymous id). It goes through the warm report
worker (:mod:`~mutuality_helpers.worker`), which the workbook starts as soon as it opens,
so the report takes a couple of seconds rather than a kernel start; where no worker can
run it renders in the workbook's own process (:func:`~mutuality_helpers.render.render_one`).

Free-text reflections reach the PDF only when "Include reflections" is ticked; the box is
unticked again for every new report.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from . import worker
from .exceptions import MutualityError
from .feedback import Say
from .report import PAPERS

#: What the button says, and what it says while a report prints.
LABEL = "PDF report"
BUSY = "Printing..."


class ReportButton:
    """Print the session report of the couple and session the workbook shows.

    Parameters
    ----------
    data_dir
        The store's data folder (reports are written to its ``reports/``).
    say
        Where the outcome is said (the workbook's one feedback line).
    """

    def __init__(self, data_dir: Path, say: Say) -> None:
        self.data_dir = Path(data_dir)
        self.say = say
        self.couple_id = ""
        self.session: int | None = None
        self.button = widgets.Button(description=LABEL, icon="file-pdf-o", disabled=True)
        self.button.add_class("mutuality-pdf-report")
        self.include_reflections = widgets.Checkbox(
            value=False, description="Include reflections", indent=False
        )
        self.paper = widgets.Dropdown(options=list(PAPERS), value=PAPERS[0], description="Paper:")
        self.widget = widgets.HBox([self.button, self.include_reflections, self.paper])
        self.button.on_click(self._on_click)

    def show(self, couple_id: str, session: int | None) -> None:
        """Follow the workbook's choice; a report needs a session ("Today" has none)."""
        self.couple_id, self.session = couple_id, session
        self.button.disabled = session is None
        self.button.tooltip = (
            f"Print the report of session {session} (PDF, for the clinical record)"
            if session is not None
            else "Choose a session: a report is of one session"
        )

    def warm_up(self) -> None:
        """Start the report worker in the background, so the first report is fast too."""
        if not worker.enabled():
            return

        def start() -> None:
            try:
                worker.start(self.data_dir)
            except (MutualityError, OSError):
                pass  # the click renders in this process instead, and says so if that fails

        threading.Thread(target=start, name="report-worker-start", daemon=True).start()

    def _on_click(self, button: Any = None) -> None:
        if self.session is None:
            self.say("Choose a session first: a report is of one session.", False)
            return
        couple_id, session = self.couple_id, self.session
        self.button.disabled, self.button.description = True, BUSY
        self.say(f"Printing the report of {couple_id} session {session}...", True)
        try:
            path = self.print_report(
                couple_id, session, self.include_reflections.value, self.paper.value
            )
        except MutualityError as exc:
            self.say(f"No report printed: {exc}", False)
        else:
            self.say(f"Report printed: {path}", True)
        finally:
            self.include_reflections.value = False
            self.button.description = LABEL
            self.button.disabled = self.session is None

    def print_report(
        self, couple_id: str, session: int, include_reflections: bool, paper: str = "A4"
    ) -> Path:
        """Print one report (through the warm worker when one can run); its path.

        Raises
        ------
        MutualityError
            With the one line ``mutuality report`` would print; no file is written then.
        """
        wanted = {"couple": couple_id, "session": session, "as_of": None}
        wanted |= {"include_reflections": include_reflections, "paper": paper}
        answer = worker.render(self.data_dir, wanted) if worker.enabled() else None
        if answer is None:
            from .render import render_report

            return render_report(
                couple_id, session, self.data_dir, include_reflections=include_reflections,
                paper=paper,
            )  # fmt: skip
        if answer.code:
            lines = [line for line in answer.err.splitlines() if line.strip()]
            raise MutualityError(lines[-1].removeprefix("mutuality: ") if lines else "it failed")
        return Path(answer.out.strip().splitlines()[-1])
