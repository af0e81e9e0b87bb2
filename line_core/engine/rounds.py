"""Lockstep rounds for a layer sweep: every neuron's requests measured together, once.

Each neuron of a sweep runs its own loop in a thread. Before a loop measures concepts it hands
its (concept, seeds) requests to the :class:`RoundBatcher` and waits; when every active loop has
handed in its requests (or finished), the last one to arrive fills the atlas with the union of
all requests, de-duplicated, rendering and forwarding only what the atlas lacks, in large
batches. Every waiting loop then continues and finds its rows in the atlas. A loop that fails
leaves the round, so the others never wait for it; a failing fill is raised in every loop of
that round.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

Requests = Sequence[tuple[str, Sequence[int]]]
Fill = Callable[[list[tuple[str, list[int]]]], None]


class RoundBatcher:
    """Gathers the measuring requests of all active loops and fills the atlas once per round."""

    def __init__(self, fill: Fill) -> None:
        self._fill = fill
        self._cond = threading.Condition()
        self._active = 0
        self._waiting = 0
        self._pending: dict[tuple[str, int], None] = {}
        self._round = 0
        self._errors: dict[int, BaseException] = {}
        self.rounds = 0  #: rounds filled so far
        self.largest = 0  #: most (concept, seed) pairs in one round

    def join(self) -> None:
        """A loop starts taking part."""
        with self._cond:
            self._active += 1

    def leave(self) -> None:
        """A loop ends (finished or failed); the others stop waiting for it."""
        with self._cond:
            self._active -= 1
            if self._waiting and self._waiting >= self._active:
                self._run_round()

    def ensure(self, requests: Requests) -> None:
        """Hand in a loop's requests and wait until the round has filled the atlas."""
        with self._cond:
            for concept, seeds in requests:
                for seed in seeds:
                    self._pending.setdefault((concept, int(seed)), None)
            self._waiting += 1
            mine = self._round
            if self._waiting >= self._active:
                self._run_round()
            else:
                while self._round == mine:
                    self._cond.wait()
            error = self._errors.get(mine)
        if error is not None:
            raise error

    def _run_round(self) -> None:
        """Fill the atlas with this round's requests (called holding the condition)."""
        pairs, self._pending = list(self._pending), {}
        grouped: dict[str, list[int]] = {}
        for concept, seed in pairs:
            grouped.setdefault(concept, []).append(seed)
        try:
            if grouped:
                self._fill(list(grouped.items()))
        except Exception as exc:  # every loop of the round sees the failure
            self._errors[self._round] = exc
        self.rounds += 1
        self.largest = max(self.largest, len(pairs))
        self._waiting = 0
        self._round += 1
        self._cond.notify_all()
