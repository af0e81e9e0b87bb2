"""A researcher's hand on a running loop: inject, edit, ban, rescore, review, stop.

The dashboard posts commands to the run store (``RunStore.post_command``); the loop reads them
between stages and answers each with a ``UserAction`` event carrying the command id, so every
intervention is in the history and none is applied twice (also across a resume).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from line_core.events import Event, PoolUpdated, StageStarted, UserAction
from line_core.pool import sort_pool
from line_core.proposers.novelty import normalise

if TYPE_CHECKING:
    from line_core.loop import Explainer

ACTIONS = ("inject", "edit", "ban", "rescore", "stop", "accept")
REVIEW_POLL_SECONDS = 0.25


class Steering:
    """Applies queued researcher commands to an Explainer's state."""

    def __init__(self, loop: Explainer) -> None:
        self.loop = loop
        self.handled: set[str] = set()
        self.banned: set[str] = set()
        self.stopped = False

    def restore(self, action: UserAction) -> None:
        """Re-apply the state effect of an action recorded before a resume."""
        if action.command_id:
            self.handled.add(action.command_id)
        if action.action == "ban":
            self.banned.add(normalise(action.concept))
            self.loop.forbidden.add(normalise(action.concept))

    def is_banned(self, concept: str) -> bool:
        """Whether a researcher banned this concept."""
        return normalise(concept) in self.banned

    def pending(self) -> list[dict[str, Any]]:
        """Commands not yet handled, oldest first (a 'stop' handled once stays handled)."""
        return [c for c in self.loop.store.commands() if c.get("id") not in self.handled]

    def handle_commands(self, iteration: int) -> Iterator[Event]:
        """Apply every pending command (except review answers, which ``review`` takes)."""
        for command in self.pending():
            if command.get("action") == "accept":
                continue
            yield from self._apply(iteration, command)
            if self.stopped:
                return

    def _record(self, iteration: int, command: dict[str, Any], concept: str, detail: str) -> Event:
        self.handled.add(command["id"])
        return self.loop.emit(
            UserAction(
                iteration=iteration,
                action=str(command.get("action")),
                concept=concept,
                detail=detail,
                command_id=command["id"],
            )
        )

    def _apply(self, iteration: int, command: dict[str, Any]) -> Iterator[Event]:
        action = command.get("action")
        loop = self.loop
        if action == "stop":
            self.stopped = True
            yield self._record(iteration, command, "", "stopped by the researcher")
        elif action == "inject":
            concepts = [c.strip() for c in command.get("concepts", []) if str(c).strip()]
            fresh = [c for c in dict.fromkeys(concepts) if normalise(c) not in loop.forbidden]
            yield self._record(
                iteration, command, "; ".join(concepts), f"{len(fresh)} new of {len(concepts)}"
            )
            if fresh:
                entries = yield from loop.evaluate(fresh, "user", iteration)
                for entry in entries:
                    yield from loop.enter_pool(iteration, entry)
        elif action == "edit":
            old, new = str(command.get("concept", "")), str(command.get("new", "")).strip()
            yield self._record(iteration, command, new, f"edited from '{old}'")
            if new and normalise(new) not in loop.forbidden:
                [entry] = yield from loop.evaluate([new], "user", iteration)
                loop.pool = [e for e in loop.pool if e.concept != old]
                yield from loop.enter_pool(iteration, entry)
        elif action == "ban":
            concept = str(command.get("concept", ""))
            self.banned.add(normalise(concept))
            loop.forbidden.add(normalise(concept))
            yield self._record(iteration, command, concept, "banned")
            if any(e.concept == concept for e in loop.pool):
                loop.pool = sort_pool([e for e in loop.pool if e.concept != concept])
                yield loop.emit(
                    PoolUpdated(
                        iteration=iteration,
                        pool=[e.concept for e in loop.pool],
                        added="",
                        removed=concept,
                    )
                )
        elif action == "rescore":
            concept = str(command.get("concept", ""))
            n_images = max(2, int(command.get("n_images", 2 * loop.config.images_per_concept)))
            yield self._record(iteration, command, concept, f"re-scored with {n_images} images")
            source = loop.sources.get(concept, "user")
            [entry] = yield from loop.evaluate([concept], source, iteration, n_images=n_images)
            if any(e.concept == concept for e in loop.pool):
                loop.pool = sort_pool([entry if e.concept == concept else e for e in loop.pool])
                yield loop.emit(
                    PoolUpdated(
                        iteration=iteration,
                        pool=[e.concept for e in loop.pool],
                        added=concept,
                        removed=None,
                    )
                )
        else:
            yield self._record(iteration, command, "", f"ignored unknown action {action!r}")

    def review(self, iteration: int, concept: str) -> Iterator[Event]:
        """Wait for the researcher to accept (possibly edit) a proposed concept.

        Returns the concept to score, or None when the run was stopped meanwhile.
        """
        yield self.loop.emit(StageStarted(iteration=iteration, stage="review", detail=concept))
        while True:
            for command in self.pending():
                if command.get("action") == "accept":
                    chosen = str(command.get("concept") or concept).strip() or concept
                    detail = "accepted" if chosen == concept else f"edited from '{concept}'"
                    yield self._record(iteration, command, chosen, detail)
                    return chosen
                yield from self._apply(iteration, command)
                if self.stopped:
                    return None
            time.sleep(REVIEW_POLL_SECONDS)
