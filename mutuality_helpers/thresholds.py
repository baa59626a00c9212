"""The named parameters of the judgement, with their defaults (``docs/method.md``).

Every threshold the judgement uses is a field of :class:`Thresholds`; the report's
parameters, the command line and the notebooks pass them by these names.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .exceptions import ParameterError


@dataclass(frozen=True)
class Thresholds:
    """The named parameters of the judgement (the defaults of ``docs/method.md``).

    Attributes
    ----------
    window_weeks
        Length of the trailing window, in weeks, ending at the evaluated week.
    imbalance_points
        A week is imbalanced when its consensus share is at least this many
        percentage points away from 50/50.
    min_answered_weeks
        Fewer weeks than this with any answer for a domain in the window:
        ``insufficient_data``.
    chronic_weeks
        At least this many uncovered imbalanced weeks in the same direction: ``chronic``.
    drifting_weeks
        At least this many (and fewer than ``chronic_weeks``): ``drifting``.
    silence_weeks
        A partner with no check-in for this many weeks or more raises an alert.
    """

    window_weeks: int = 8
    imbalance_points: float = 20
    min_answered_weeks: int = 4
    chronic_weeks: int = 6
    drifting_weeks: int = 3
    silence_weeks: int = 2

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ParameterError(f"threshold {name} must be a positive number, got {value!r}")
        if not 0 < self.imbalance_points <= 50:
            raise ParameterError("threshold imbalance_points must be between 0 and 50")
        if not self.drifting_weeks < self.chronic_weeks <= self.window_weeks:
            raise ParameterError(
                "thresholds must satisfy drifting_weeks < chronic_weeks <= window_weeks"
            )
        if self.min_answered_weeks > self.window_weeks:
            raise ParameterError("threshold min_answered_weeks cannot exceed window_weeks")
