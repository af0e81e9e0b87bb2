"""The history of a run, folded from its events: the one owner of every derived fact.

The CLI, the dashboard, figures, export and analysis read a run only through
:class:`RunHistory`: its label (with the researcher's bans applied), the random-concept
baseline, the iteration totals, the pending commands, the worked time (see
``line_core.record.timing``), who proposed and who changed each concept (see
``line_core.record.provenance``) and the status (``empty``, ``running``, ``review``,
``stopped``, ``failed``, ``finished``). Nothing else recomputes them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from line_core.concepts import (
    BASELINE_SOURCES,
    Score,
    ScoredConcept,
    Source,
    normalise,
)
from line_core.record.commands import Command
from line_core.record.events import (
    ConceptProposed,
    ConceptScored,
    Event,
    IterationDone,
    PoolUpdated,
    RunFailed,
    RunFinished,
    RunResumed,
    RunStarted,
    StageStarted,
    UserAction,
)
from line_core.record.manifest import Manifest
from line_core.record.provenance import Origin, origin_of
from line_core.record.timing import WorkClock


@dataclass(frozen=True)
class ScoredRecord(ScoredConcept):
    """One scored concept of a run (a concept scored twice appears twice).

    ``source`` is whose concept it is; when the researcher changed a proposal before it was
    scored, it is ``user`` and ``original`` / ``original_source`` keep the proposal.
    """

    iteration: int = 0
    activations: tuple[float, ...] = ()
    images: tuple[str, ...] = ()
    reasoning: str = ""
    original: str = ""
    original_source: str = ""

    @property
    def proposed_by(self) -> str:
        """Who first proposed the concept (before any change by the researcher)."""
        return self.original_source if self.original else self.source

    @property
    def changed_by(self) -> str:
        """Who changed the proposal before it was scored ('' when nobody did)."""
        return Source.USER if self.original else ""


@dataclass(frozen=True)
class Baseline:
    """AUCs of concepts not chosen for the unit: mean, sd and 5th..95th percentile."""

    mean: float
    sd: float
    low: float
    high: float
    n: int


def best_of(items: Iterable[ScoredConcept], banned: Iterable[str] = ()) -> Any:
    """The highest-ranked item whose concept is not banned (None when there is none)."""
    excluded = {normalise(b) for b in banned}
    allowed = [i for i in items if normalise(i.concept) not in excluded]
    return max(allowed, key=lambda i: i.rank_key, default=None)


@dataclass
class RunHistory:
    """Everything a run did, in order, plus the facts derived from it."""

    manifest: Manifest | None = None
    started: RunStarted | None = None
    records: list[ScoredRecord] = field(default_factory=list)
    pools: dict[int, list[str]] = field(default_factory=dict)
    completed: list[IterationDone] = field(default_factory=list)
    actions: list[UserAction] = field(default_factory=list)
    finished: RunFinished | None = None
    failed: RunFailed | None = None
    stage: StageStarted | None = None
    proposals: list[ConceptProposed] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)
    review: tuple[str, int] | None = None
    stopped: bool = False
    corrupt_lines: int = 0
    clock: WorkClock = field(default_factory=WorkClock, repr=False)
    #: Changed proposals waiting for their score, by normalised new text (see build_history).
    changed: dict[str, Origin] = field(default_factory=dict, repr=False)

    # -- progress ---------------------------------------------------------------------------
    @property
    def last_completed_iteration(self) -> int:
        """Highest completed iteration, -1 when none."""
        return max((d.iteration for d in self.completed), default=-1)

    @property
    def iterations_done(self) -> int:
        """How many iterations (initial pool included) are complete."""
        return self.last_completed_iteration + 1

    @property
    def iterations_total(self) -> int:
        """How many iterations the run plans: initial pool, proposals and summary."""
        if self.manifest is not None:
            return self.manifest.planned_iterations
        return 1 + (self.started.iterations + 1 if self.started else 0)

    @property
    def worked_seconds(self) -> float:
        """Time spent working: the worked spans of completed iterations, summed over sessions.

        Review waits are not work; a later session adds its own iterations and never replaces
        earlier ones (see ``line_core.record.timing``).
        """
        return self.clock.seconds

    # -- researcher commands ----------------------------------------------------------------
    @property
    def banned(self) -> set[str]:
        """Normalised concepts the researcher banned."""
        return {normalise(a.concept) for a in self.actions if a.action == "ban"}

    def is_banned(self, concept: str) -> bool:
        """Whether the researcher banned this concept."""
        return normalise(concept) in self.banned

    @property
    def banned_concepts(self) -> list[str]:
        """The banned concepts as the researcher wrote them, in the order they were banned."""
        seen: dict[str, str] = {}
        for action in self.actions:
            if action.action == "ban":
                seen.setdefault(normalise(action.concept), action.concept)
        return list(seen.values())

    @property
    def answered(self) -> set[str]:
        """Ids of the commands the loop has answered."""
        return {a.command_id for a in self.actions if a.command_id}

    @property
    def pending_commands(self) -> list[Command]:
        """Commands posted but not answered yet, oldest first."""
        answered = self.answered
        return [c for c in self.commands if c.id not in answered]

    # -- status -----------------------------------------------------------------------------
    @property
    def status(self) -> str:
        """empty, running, review, stopped, failed or finished, from the events alone.

        Whether a ``running`` run is live or was interrupted needs the writer lock:
        see ``line_core.record.read.run_status``.
        """
        if self.finished is not None:
            return "finished"
        if self.failed is not None:
            return "failed"
        if self.stopped:
            return "stopped"
        if self.started is None:
            return "empty"
        return "review" if self.review is not None else "running"

    # -- scores -----------------------------------------------------------------------------
    def best(self) -> ScoredRecord | None:
        """The run's label: the highest-ranked record whose concept is not banned."""
        return best_of(self.records, self.banned)

    @property
    def label(self) -> str:
        """The best concept's text ('' when nothing was scored)."""
        best = self.best()
        return best.concept if best else ""

    def latest_scores(self) -> dict[str, ScoredRecord]:
        """Each concept's most recent score (a re-score replaces the earlier one)."""
        latest: dict[str, ScoredRecord] = {}
        for record in self.records:
            latest[record.concept] = record
        return latest

    def unique_records(self) -> list[ScoredRecord]:
        """Each concept's latest score (same concept by ``normalise``), in first-seen order."""
        latest: dict[str, ScoredRecord] = {}
        for record in self.records:
            key = normalise(record.concept)
            latest.pop(key, None)
            latest[key] = record
        return list(latest.values())

    def current_pool(self) -> list[ScoredRecord]:
        """The latest pool with scores, best first."""
        if not self.pools:
            return []
        names = self.pools[max(self.pools)]
        scores = self.latest_scores()
        pool = [scores[n] for n in names if n in scores]
        return sorted(pool, key=lambda r: r.rank_key, reverse=True)

    def baseline_records(self) -> list[ScoredRecord]:
        """The initial concepts not chosen for this unit (seed vocabulary or random classes)."""
        return [r for r in self.records if r.iteration == 0 and r.source in BASELINE_SOURCES]

    def baseline(self) -> Baseline | None:
        """The random-concept baseline: chance level of the unit's AUC (None without one)."""
        aucs = np.asarray([r.auc for r in self.baseline_records()], dtype=float)
        if aucs.size == 0:
            return None
        low, high = np.quantile(aucs, [0.05, 0.95])
        sd = float(aucs.std(ddof=1)) if aucs.size > 1 else 0.0
        return Baseline(float(aucs.mean()), sd, float(low), float(high), int(aucs.size))

    def best_so_far(self) -> list[tuple[int, float]]:
        """(iteration, best AUC up to and including it) for every completed iteration."""
        return [
            (d.iteration, d.best_auc) for d in sorted(self.completed, key=lambda d: d.iteration)
        ]

    def source_of(self, concept: str) -> str:
        """Who proposed a concept: its latest score's source, else its proposal's ('' if none)."""
        key = normalise(concept)
        for item in [*reversed(self.records), *reversed(self.proposals)]:
            if normalise(item.concept) == key:
                return item.source
        return ""

    def reasoning_for(self, concept: str) -> str:
        """The reasoning recorded when a concept was proposed ('' if none)."""
        for proposal in reversed(self.proposals):
            if proposal.concept == concept:
                return proposal.reasoning
        return ""

    def table(self) -> list[dict[str, Any]]:
        """Flat rows (one per scored concept) for CSV/Parquet export and tables."""
        rows = []
        for record in self.records:
            rows.append(
                {
                    "iteration": record.iteration,
                    "concept": record.concept,
                    "source": record.source,
                    "proposed_by": record.proposed_by,
                    "original": record.original,
                    **{k: getattr(record.score, k) for k in Score.__dataclass_fields__},
                    "banned": self.is_banned(record.concept),
                    "reasoning": record.reasoning,
                    "n_images": len(record.activations),
                    "images": ";".join(record.images),
                }
            )
        return rows


def _record(event: ConceptScored, reasoning: str, origin: Origin | None) -> ScoredRecord:
    return ScoredRecord(
        concept=event.concept,
        score=event.score,
        source=event.source,
        iteration=event.iteration,
        activations=tuple(event.activations),
        images=tuple(event.images),
        reasoning=reasoning,
        original=origin.concept if origin else "",
        original_source=origin.source if origin else "",
    )


def build_history(
    events: Iterable[Event],
    commands: Sequence[Command] = (),
    manifest: Manifest | None = None,
    corrupt_lines: int = 0,
) -> RunHistory:
    """Fold a run's effective events (and its posted commands) into its history."""
    history = RunHistory(manifest=manifest, commands=list(commands), corrupt_lines=corrupt_lines)
    for event in events:
        history.clock.add(event)
        if isinstance(event, RunStarted):
            history.started = event
        elif isinstance(event, RunResumed):
            history.finished = history.failed = None
            history.stopped = False
        elif isinstance(event, ConceptProposed):
            history.proposals.append(event)
        elif isinstance(event, ConceptScored):
            origin = (history.changed.pop(normalise(event.concept), None)
                      if event.source == Source.USER else None)
            history.records.append(_record(event, history.reasoning_for(event.concept), origin))
        elif isinstance(event, PoolUpdated):
            history.pools[event.iteration] = list(event.pool)
        elif isinstance(event, IterationDone):
            history.completed.append(event)
            history.changed.clear()  # a changed concept is scored in the iteration it was changed
        elif isinstance(event, UserAction):
            history.actions.append(event)
            origin = origin_of(event, history.source_of)
            if origin is not None:
                history.changed[normalise(event.concept)] = origin
            if event.action in ("accept", "stop"):
                history.review = None
            history.stopped = history.stopped or event.action == "stop"
        elif isinstance(event, RunFinished):
            history.finished = event
            history.review = None
        elif isinstance(event, RunFailed):
            history.failed = event
            history.review = None
        elif isinstance(event, StageStarted):
            history.stage = event
            if event.stage == "review":
                history.review = (event.detail, event.iteration)
    return history

