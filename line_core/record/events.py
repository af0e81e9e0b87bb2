"""Typed events the loop yields and the run store appends, one JSON object per line.

Iteration 0 is the initial pool; iterations 1..K are proposal iterations; the summary iteration
is K+1. Every event can round-trip through ``to_dict`` / ``event_from_dict``.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar

from line_core.concepts import Score, ScoredConcept


@dataclass
class Event:
    """Base event; ``type`` names the subclass in the JSON line."""

    type: ClassVar[str] = "event"
    t: float = field(default_factory=time.time, kw_only=True)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict with a ``type`` key."""
        return {"type": self.type, **asdict(self)}


@dataclass
class RunStarted(Event):
    """A run began (or a fresh run folder was created)."""

    type: ClassVar[str] = "run_started"
    model: str
    layer: str
    neuron: int
    generator: str
    proposer: str
    iterations: int


@dataclass
class RunResumed(Event):
    """A run was resumed; events of iterations after ``from_iteration`` written earlier are void."""

    type: ClassVar[str] = "run_resumed"
    from_iteration: int


@dataclass
class StageStarted(Event):
    """The loop entered a stage (for live status lines): propose, generate, forward, score."""

    type: ClassVar[str] = "stage_started"
    iteration: int
    stage: str
    detail: str = ""


@dataclass
class ConceptProposed(Event):
    """A concept was proposed; ``source`` is llm, lexicon, seed, control-class, summary or user."""

    type: ClassVar[str] = "concept_proposed"
    iteration: int
    concept: str
    source: str
    reasoning: str = ""
    raw: str = ""
    rejected: list[str] = field(default_factory=list)


@dataclass
class ImagesGenerated(Event):
    """Images for a concept were rendered and stored (paths relative to the run folder)."""

    type: ClassVar[str] = "images_generated"
    iteration: int
    concept: str
    prompts: list[str]
    seeds: list[int]
    images: list[str]
    seconds: float = 0.0
    dropped: list[int] = field(default_factory=list)
    cached: int = 0  #: how many of the images came from the concept atlas (not rendered now)


@dataclass
class ConceptScored(Event):
    """A concept's images were scored against the control set."""

    type: ClassVar[str] = "concept_scored"
    iteration: int
    concept: str
    source: str
    auc: float
    mad: float
    mean_activation: float
    u_statistic: float
    p_value: float
    auc_low: float
    auc_high: float
    activations: list[float]
    images: list[str] = field(default_factory=list)

    @classmethod
    def of(
        cls,
        iteration: int,
        concept: str,
        source: str,
        score: Score,
        activations: list[float],
        images: list[str],
    ) -> ConceptScored:
        """The event for a concept scored with ``score`` on ``activations``."""
        return cls(
            iteration=iteration,
            concept=concept,
            source=source,
            activations=[round(float(v), 6) for v in activations],
            images=list(images),
            **asdict(score),
        )

    @property
    def score(self) -> Score:
        """The score as the one score value."""
        return Score(**{f.name: getattr(self, f.name) for f in fields(Score)})

    @property
    def scored(self) -> ScoredConcept:
        """Concept, score and source together."""
        return ScoredConcept(self.concept, self.score, self.source)


@dataclass
class PoolUpdated(Event):
    """The pool after an update: ``added`` entered, ``removed`` left (None when it only grew)."""

    type: ClassVar[str] = "pool_updated"
    iteration: int
    pool: list[str]
    added: str
    removed: str | None


@dataclass
class UserAction(Event):
    """A researcher's intervention (inject, edit, ban, ...) answering a command.

    When the researcher changed a concept (an edit, or a review answered with other words),
    ``concept`` is the new text and ``original`` / ``original_source`` keep the concept as it
    was proposed and who proposed it.
    """

    type: ClassVar[str] = "user_action"
    iteration: int
    action: str
    concept: str
    detail: str = ""
    command_id: str = ""
    original: str = ""
    original_source: str = ""


@dataclass
class IterationDone(Event):
    """An iteration completed; everything it produced is on disk before this line."""

    type: ClassVar[str] = "iteration_done"
    iteration: int
    best_concept: str
    best_auc: float
    best_mad: float
    seconds: float
    stage_seconds: dict[str, float] = field(default_factory=dict)


@dataclass
class RunFinished(Event):
    """The run ended with its final label.

    ``seconds`` is the run's worked time over all its sessions when it finished (runs written
    before that recorded only the last session's time: read ``RunHistory.worked_seconds``).
    """

    type: ClassVar[str] = "run_finished"
    label: str
    auc: float
    mad: float
    seconds: float


@dataclass
class RunFailed(Event):
    """The run stopped on an error (the message is one line); a resume may continue it."""

    type: ClassVar[str] = "run_failed"
    message: str
    iteration: int | None = None


EVENT_TYPES: dict[str, type[Event]] = {
    cls.type: cls
    for cls in (
        RunStarted,
        RunResumed,
        StageStarted,
        ConceptProposed,
        ImagesGenerated,
        ConceptScored,
        PoolUpdated,
        UserAction,
        IterationDone,
        RunFinished,
        RunFailed,
    )
}


def event_from_dict(data: dict[str, Any]) -> Event:
    """Rebuild an event from its dict; unknown keys are ignored (forward compatible)."""
    cls = EVENT_TYPES.get(data.get("type", ""))
    if cls is None:
        raise ValueError(f"unknown event type {data.get('type')!r}")
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})
