"""The history of a run rebuilt from its events: what the dashboard, CLI and analysis read."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from line_core.events import (
    ConceptProposed,
    ConceptScored,
    Event,
    IterationDone,
    PoolUpdated,
    RunFailed,
    RunFinished,
    RunStarted,
    StageStarted,
    UserAction,
)

#: Sources of concepts not chosen for this neuron: their scores are the chance baseline.
BASELINE_SOURCES = ("seed", "random-class")


def source_kind(source: str) -> str:
    """The display group of a source: 'summary-llm' -> 'summary', others unchanged."""
    return "summary" if source.startswith("summary") else source


@dataclass
class ScoredRecord:
    """One scored concept of a run (a concept scored twice appears twice)."""

    iteration: int
    concept: str
    source: str
    auc: float
    mad: float
    mean_activation: float
    p_value: float
    auc_low: float
    auc_high: float
    activations: list[float]
    images: list[str]
    reasoning: str = ""

    @property
    def rank_key(self) -> tuple[float, float]:
        """AUC first, MAD breaks ties (as in the loop)."""
        return (round(self.auc, 9), self.mad)


@dataclass
class RunHistory:
    """Everything a run did, in order."""

    started: RunStarted | None = None
    records: list[ScoredRecord] = field(default_factory=list)
    pools: dict[int, list[str]] = field(default_factory=dict)
    completed: list[IterationDone] = field(default_factory=list)
    actions: list[UserAction] = field(default_factory=list)
    finished: RunFinished | None = None
    failed: RunFailed | None = None
    stage: StageStarted | None = None
    proposals: list[ConceptProposed] = field(default_factory=list)

    @property
    def last_completed_iteration(self) -> int:
        """Highest completed iteration, -1 when none."""
        return max((d.iteration for d in self.completed), default=-1)

    @property
    def status(self) -> str:
        """finished, failed, running (or interrupted: the store cannot tell), or empty."""
        if self.finished is not None:
            return "finished"
        if self.failed is not None:
            return "failed"
        return "running" if self.started is not None else "empty"

    def best(self) -> ScoredRecord | None:
        """The highest-ranked record so far."""
        return max(self.records, key=lambda r: r.rank_key, default=None)

    def latest_scores(self) -> dict[str, ScoredRecord]:
        """Each concept's most recent score (a re-score replaces the earlier one)."""
        latest: dict[str, ScoredRecord] = {}
        for record in self.records:
            latest[record.concept] = record
        return latest

    def current_pool(self) -> list[ScoredRecord]:
        """The latest pool with scores, best first."""
        if not self.pools:
            return []
        names = self.pools[max(self.pools)]
        scores = self.latest_scores()
        pool = [scores[n] for n in names if n in scores]
        return sorted(pool, key=lambda r: r.rank_key, reverse=True)

    def best_so_far(self) -> list[tuple[int, float]]:
        """(iteration, best AUC up to and including it) for every completed iteration."""
        return [
            (d.iteration, d.best_auc) for d in sorted(self.completed, key=lambda d: d.iteration)
        ]

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
            row = asdict(record)
            row["n_images"] = len(record.activations)
            row.pop("activations")
            row["images"] = ";".join(record.images)
            rows.append(row)
        return rows


def build_history(events: Iterable[Event]) -> RunHistory:
    """Fold a run's effective events into its history."""
    history = RunHistory()
    for event in events:
        if isinstance(event, RunStarted):
            history.started = event
        elif isinstance(event, ConceptProposed):
            history.proposals.append(event)
        elif isinstance(event, ConceptScored):
            history.records.append(
                ScoredRecord(
                    iteration=event.iteration,
                    concept=event.concept,
                    source=event.source,
                    auc=event.auc,
                    mad=event.mad,
                    mean_activation=event.mean_activation,
                    p_value=event.p_value,
                    auc_low=event.auc_low,
                    auc_high=event.auc_high,
                    activations=list(event.activations),
                    images=list(event.images),
                    reasoning=history.reasoning_for(event.concept),
                )
            )
        elif isinstance(event, PoolUpdated):
            history.pools[event.iteration] = list(event.pool)
        elif isinstance(event, IterationDone):
            history.completed.append(event)
        elif isinstance(event, UserAction):
            history.actions.append(event)
        elif isinstance(event, RunFinished):
            history.finished = event
        elif isinstance(event, RunFailed):
            history.failed = event
        elif isinstance(event, StageStarted):
            history.stage = event
    return history


def write_history_tables(run_dir: Path, history: RunHistory) -> list[Path]:
    """Write history.csv and history.parquet (Parquet skipped if pyarrow is missing)."""
    import pandas as pd

    frame = pd.DataFrame(history.table())
    csv_path = Path(run_dir) / "history.csv"
    frame.to_csv(csv_path, index=False)
    written = [csv_path]
    try:
        parquet_path = Path(run_dir) / "history.parquet"
        frame.to_parquet(parquet_path, index=False)
        written.append(parquet_path)
    except ImportError:
        pass
    return written
