"""Every error the package raises on purpose derives from :class:`MutualityError`.

The command line turns any of them into one line on stderr and a non-zero exit,
so the message must make sense on its own, without a traceback.
"""

from __future__ import annotations


class MutualityError(Exception):
    """Root of all expected errors: bad input, a missing couple, a damaged store."""


class InstrumentError(MutualityError):
    """An instrument definition file is malformed (file and item are named)."""


class ValidationError(MutualityError):
    """A value does not fit its item (type, range, choices, length)."""


class ImportRejected(MutualityError):
    """A CSV file has bad rows; nothing was written.

    ``problems`` holds ``(line_number, reason)`` pairs, every bad row of the file.
    """

    def __init__(self, path: str, problems: list[tuple[int, str]]):
        self.path = path
        self.problems = problems
        lines = "; ".join(f"line {n}: {why}" for n, why in problems[:20])
        more = f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""
        super().__init__(
            f"{path}: rejected, nothing imported: {len(problems)} bad row(s): {lines}{more}"
        )


class StoreError(MutualityError):
    """The store is missing, damaged, foreign, or could not be written."""


class OutputRefused(MutualityError):
    """A file the user named would overwrite one of the program's own files (nothing written)."""


class UnknownCouple(MutualityError):
    """No couple with that id is in the store."""


class UnknownSession(MutualityError):
    """No session with that number is recorded for the couple."""


class DuplicateSession(MutualityError):
    """The couple already has a session on that date (a second one needs confirming).

    ``couple_id``, ``number`` (the session already there) and ``date`` say which.
    """

    def __init__(self, message: str, couple_id: str, number: int, date: object):
        super().__init__(message)
        self.couple_id = couple_id
        self.number = number
        self.date = date


class UnknownSeason(MutualityError):
    """No season with that id is in the store."""


class ParameterError(MutualityError):
    """A notebook or report parameter is missing, misspelt or of the wrong type."""


class ReportError(MutualityError):
    """A PDF report could not be rendered."""


class KernelDied(ReportError):
    """The report kernel stopped unexpectedly, or never started."""


class LinkError(MutualityError):
    """A partner link is incomplete, malformed or not signed by this data folder."""


class SettingsError(MutualityError):
    """The practice's settings (``practice.yaml`` or an environment variable) are malformed."""


class UnknownAlert(MutualityError):
    """No alert with that reference is in the record."""


class ServeError(MutualityError):
    """The Voila app cannot be started as asked (e.g. a public address without a token)."""


class ErasedCouple(UnknownCouple):
    """The couple id was erased: nothing is written for it until ``mutuality reuse``."""


class AccessDenied(MutualityError):
    """The user is not one of the practice's, or their role does not allow what was asked."""
