"""A researcher's hand on a running loop: each command becomes an answer and a list of requests.

Steering never touches the loop. :func:`plan` reads a typed command and the loop's state and
returns a :class:`Plan`: the ``UserAction`` answer to record and the requests the loop then
carries out (score concepts, ban one, stop). The loop applies them to its one state object, so
every change of state happens in one place and every intervention is in the history.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from line_core.concepts import Source
from line_core.engine.state import LoopState
from line_core.record.commands import (
    Accept,
    Ban,
    Command,
    Edit,
    Inject,
    Rescore,
    Stop,
    Unknown,
)


@dataclass(frozen=True)
class ScoreConcepts:
    """Render and score concepts, then offer them to the pool.

    ``replaces`` names a pool concept the first one replaces (an edit); ``refresh`` updates
    a pool concept's score in place instead of offering it (a re-score).
    """

    concepts: tuple[str, ...]
    source: str
    n_images: int | None = None
    replaces: str | None = None
    refresh: bool = False


@dataclass(frozen=True)
class BanConcept:
    """Ban a concept: never proposed, pooled or labelled again."""

    concept: str


@dataclass(frozen=True)
class StopRun:
    """Stop after the current stage."""


Request = ScoreConcepts | BanConcept | StopRun


@dataclass(frozen=True)
class Plan:
    """What one command does: its recorded answer and the requests that follow.

    ``original`` / ``original_source``: the concept an edit replaces and who proposed it.
    """

    action: str
    concept: str
    detail: str
    requests: list[Request] = field(default_factory=list)
    original: str = ""
    original_source: str = ""


def plan(command: Command, state: LoopState, images_per_concept: int) -> Plan:
    """Turn a command into its answer and requests (review answers: see :func:`review_choice`)."""
    if isinstance(command, Stop):
        return Plan("stop", "", "stopped by the researcher", [StopRun()])
    if isinstance(command, Inject):
        concepts = [" ".join(c.split()) for c in command.concepts if c.strip()]
        fresh = tuple(c for c in dict.fromkeys(concepts) if state.is_new(c))
        requests: list[Request] = [ScoreConcepts(fresh, Source.USER)] if fresh else []
        return Plan("inject", "; ".join(concepts), f"{len(fresh)} new of {len(concepts)}",
                    requests)
    if isinstance(command, Edit):
        new = " ".join(command.new.split())
        requests = [ScoreConcepts((new,), Source.USER, replaces=command.concept)] if (
            state.is_new(new)
        ) else []
        return Plan("edit", new, f"edited from '{command.concept}'", requests,
                    original=command.concept, original_source=state.source_of(command.concept))
    if isinstance(command, Ban):
        return Plan("ban", command.concept, "banned", [BanConcept(command.concept)])
    if isinstance(command, Rescore):
        n_images = max(2, int(command.n_images or 2 * images_per_concept))
        source = state.source_of(command.concept, Source.USER)
        return Plan("rescore", command.concept, f"re-scored with {n_images} images",
                    [ScoreConcepts((command.concept,), source, n_images, refresh=True)])
    if isinstance(command, Accept):  # an accept with no review waiting: nothing to do
        return Plan("accept", command.concept, "no proposal was waiting for review")
    name = command.name if isinstance(command, Unknown) else command.action
    return Plan(name or "unknown", "", f"ignored unknown action {name!r}")


@dataclass(frozen=True)
class ReviewChoice:
    """The concept to score after a review, with its source and the recorded answer.

    An edited proposal is the user's; ``original`` / ``original_source`` keep the proposal.
    """

    concept: str
    source: str
    detail: str
    original: str = ""
    original_source: str = ""


def review_choice(command: Accept, proposed: str, proposed_source: str) -> ReviewChoice:
    """The researcher's answer to a review: accepted as proposed, or edited (then the user's)."""
    chosen = " ".join(command.concept.split()) or proposed
    if chosen == proposed:
        return ReviewChoice(proposed, proposed_source, "accepted")
    return ReviewChoice(chosen, Source.USER, f"edited from '{proposed}' ({proposed_source})",
                        original=proposed, original_source=proposed_source)
