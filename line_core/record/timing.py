"""Worked time of a run, folded from its events: the one place that computes it.

A run's worked time is the sum of its worked spans: the span of every completed iteration
(``IterationDone.seconds``, measured by the session that did it) less the time that iteration
spent waiting for the researcher's review. Sessions add up: an iteration done before a stop
keeps its span after a resume, and a later session (a resume, or one that applies an edit to a
finished run and re-finishes it) adds only the iterations it completes, so it never overwrites
what earlier sessions worked. Work of an iteration a resume started again is void with that
iteration's events (see ``line_core.record.store``), so it is not counted twice.

Only fields every run folder has are read (``t`` stamps and ``IterationDone.seconds``), so runs
written before this module existed give the same kind of number.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from line_core.record.events import (
    Event,
    IterationDone,
    RunResumed,
    RunStarted,
    StageStarted,
    UserAction,
)

REVIEW_STAGE = "review"


@dataclass
class WorkClock:
    """Accumulates worked time while a run's effective events are folded in order."""

    #: Worked seconds of each completed iteration (review waits taken out).
    iterations: dict[int, float] = field(default_factory=dict)
    #: Seconds each iteration waited for a review answer so far (only the current session).
    waits: dict[int, float] = field(default_factory=dict)
    _review_since: tuple[int, float] | None = None

    def add(self, event: Event) -> None:
        """Take one event into account (events must come in the order they were written)."""
        if isinstance(event, (RunStarted, RunResumed)):
            self._review_since = None  # a new session: nobody is waiting any more
            self.waits.clear()
        elif isinstance(event, StageStarted) and event.stage == REVIEW_STAGE:
            self._review_since = (event.iteration, event.t)
        elif isinstance(event, UserAction) and self._review_since is not None:
            if event.action in ("accept", "stop"):
                iteration, since = self._review_since
                self.waits[iteration] = self.waits.get(iteration, 0.0) + max(0.0, event.t - since)
                self._review_since = None
        elif isinstance(event, IterationDone):
            waited = self.waits.pop(event.iteration, 0.0)
            self.iterations[event.iteration] = max(0.0, float(event.seconds) - waited)

    @property
    def seconds(self) -> float:
        """Total worked seconds so far."""
        return float(sum(self.iterations.values()))
