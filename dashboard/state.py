"""Reading the run store from the dashboard: run folders, cached histories, run summaries.

Histories and manifests are cached by the file's (mtime, size), so polling a live run every
second re-parses the events file only when the worker has appended to it.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import streamlit as st

from dashboard.scores import random_baseline
from line_core.errors import RunStoreError
from line_core.history import RunHistory, ScoredRecord, build_history
from line_core.store import COMMANDS, EVENTS, MANIFEST, RunStore, list_runs
from line_core.worker import worker_alive, worker_log_tail

RUNS_ENV = "LINE_RUNS_DIR"


def runs_dir() -> Path:
    """Where runs live: ``$LINE_RUNS_DIR`` or ``runs/`` in the working directory."""
    return Path(os.environ.get(RUNS_ENV) or "runs")


def run_key(run_dir: Path | str) -> str:
    """A run's stable id for URLs: its folder relative to the runs folder."""
    path = Path(run_dir)
    try:
        return path.resolve().relative_to(runs_dir().resolve()).as_posix()
    except ValueError:
        return path.name


def resolve_run(key: str) -> Path:
    """The folder of a run id from a URL; RunStoreError if it is not a run under the runs folder."""
    root = runs_dir().resolve()
    path = (root / key).resolve()
    if not key or (root != path and root not in path.parents):
        raise RunStoreError(f"'{key}' is not a run of {root}: pick a run from the list")
    if not (path / MANIFEST).is_file():
        raise RunStoreError(f"run '{key}' was not found in {root}: pick a run from the list")
    return path


def _stamp(path: Path) -> tuple[int, int]:
    try:
        stat = path.stat()
    except OSError:
        return (0, 0)
    return (stat.st_mtime_ns, stat.st_size)


@st.cache_data(max_entries=256, show_spinner=False)
def _history(run_dir: str, stamp: tuple[int, int]) -> RunHistory:
    return build_history(RunStore.open(run_dir).events())


@st.cache_data(max_entries=256, show_spinner=False)
def _manifest(run_dir: str, stamp: tuple[int, int]) -> dict[str, Any]:
    return RunStore(Path(run_dir)).manifest()


def events_stamp(run_dir: Path | str) -> tuple[int, int]:
    """(mtime, size) of a run's events file: changes whenever the run wrote something."""
    return _stamp(Path(run_dir) / EVENTS)


def history(run_dir: Path | str) -> RunHistory:
    """A run's history, re-read only when its events file changed."""
    path = Path(run_dir)
    return _history(str(path), _stamp(path / EVENTS))


def manifest(run_dir: Path | str) -> dict[str, Any]:
    """A run's manifest (cached by the file's mtime and size)."""
    path = Path(run_dir)
    return _manifest(str(path), _stamp(path / MANIFEST))


def store(run_dir: Path | str) -> RunStore:
    """The run store of a folder (no validation: use for images and commands)."""
    return RunStore(Path(run_dir))


@dataclass
class RunState:
    """What a run is doing now: a status word plus what the page needs to say about it."""

    status: str  # running, review, starting, finished, stopped, interrupted, failed, empty
    live: bool
    message: str = ""
    review_concept: str | None = None
    review_iteration: int = 0
    pending: list[dict[str, Any]] = field(default_factory=list)


def pending_commands(run_dir: Path | str, hist: RunHistory) -> list[dict[str, Any]]:
    """Commands posted to the run that its loop has not answered yet."""
    answered = {a.command_id for a in hist.actions if a.command_id}
    path = Path(run_dir)
    if _stamp(path / COMMANDS) == (0, 0):
        return []
    return [c for c in store(path).commands() if c.get("id") not in answered]


def awaiting_review(
    run_dir: Path | str, hist: RunHistory, pending: list[dict[str, Any]]
) -> tuple[str, int] | None:
    """(concept, iteration) the loop waits to have reviewed, or None.

    In review mode the loop proposes, announces a "review" stage and waits for an accept;
    commands applied meanwhile (an injected concept is rendered and scored) emit stages of
    their own, so the wait is read from the proposals and accepts, not from the last stage.
    """
    if hist.finished is not None or not hist.proposals:
        return None
    if not manifest(run_dir).get("config", {}).get("review"):
        return None
    last = hist.proposals[-1]
    if last.iteration < 1 or last.source == "user":
        return None
    answered = any(a.action == "accept" and a.iteration == last.iteration for a in hist.actions)
    if answered or any(c.get("action") == "accept" for c in pending):
        return None
    if any(r.iteration == last.iteration and r.source == last.source for r in hist.records):
        return None
    return last.concept, last.iteration


def run_state(run_dir: Path | str, hist: RunHistory) -> RunState:
    """Combine the history's status with the worker's liveness and the pending commands."""
    alive = worker_alive(run_dir)
    pending = pending_commands(run_dir, hist)
    stopped = any(a.action == "stop" for a in hist.actions) or any(
        c.get("action") == "stop" for c in pending
    )
    if alive:
        if hist.status == "empty":
            return RunState("starting", True, "loading models and the control set", pending=pending)
        waiting = awaiting_review(run_dir, hist, pending)
        if waiting is not None:
            return RunState("review", True, review_concept=waiting[0],
                            review_iteration=waiting[1], pending=pending)
        return RunState("running", True, pending=pending)
    if hist.finished is not None:
        return RunState("finished", False, pending=pending)
    if hist.failed is not None:
        return RunState("failed", False, hist.failed.message, pending=pending)
    if hist.status == "empty":
        tail = worker_log_tail(run_dir, lines=3)
        if tail:
            return RunState("failed", False, tail.splitlines()[-1], pending=pending)
        return RunState("empty", False, pending=pending)
    if stopped:
        return RunState("stopped", False, pending=pending)
    return RunState("interrupted", False, "the worker is not running", pending=pending)


@dataclass
class RunSummary:
    """One run as the gallery and the layer overview show it."""

    key: str
    run_dir: Path
    model: str
    layer: str
    neuron: int
    proposer: str
    generator: str
    created: str
    status: str
    label: str | None = None
    auc: float | None = None
    auc_low: float | None = None
    auc_high: float | None = None
    mad: float | None = None
    baseline: float | None = None
    n_concepts: int = 0
    iterations_done: int = 0
    iterations_total: int = 0
    images: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def title(self) -> str:
        """Short text naming the unit."""
        return f"{self.model} · {self.layer} · unit {self.neuron}"


def best_record(hist: RunHistory) -> ScoredRecord | None:
    """The run's label record: the finished label if known, else the best so far."""
    if hist.finished is not None and hist.finished.label:
        for record in reversed(hist.records):
            if record.concept == hist.finished.label:
                return record
    return hist.best()


def _when(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(t))


def summarize(run_dir: Path) -> RunSummary:
    """A run's summary (a corrupt run gets ``error`` set instead of raising)."""
    key = run_key(run_dir)
    try:
        data = manifest(run_dir)
        config = data.get("config", {})
        hist = history(run_dir)
    except RunStoreError as exc:
        return RunSummary(key, run_dir, "?", "?", -1, "?", "?", "", "failed", error=str(exc))
    state = run_state(run_dir, hist)
    best = best_record(hist)
    baseline = random_baseline(hist)
    started = hist.started
    total = int(config.get("iterations", 0)) + (1 if config.get("summary", True) else 0) + 1
    return RunSummary(
        key=key,
        run_dir=run_dir,
        model=str(config.get("model") or (started.model if started else "?")),
        layer=str(config.get("layer") or (started.layer if started else "?")),
        neuron=int(config["neuron"] if config.get("neuron") is not None else
                   (started.neuron if started else -1)),
        proposer=str(config.get("proposer") or (started.proposer if started else "?")),
        generator=str(config.get("generator") or (started.generator if started else "?")),
        created=str(data.get("created") or (_when(started.t) if started else "")),
        status=state.status,
        label=best.concept if best else None,
        auc=best.auc if best else None,
        auc_low=best.auc_low if best else None,
        auc_high=best.auc_high if best else None,
        mad=best.mad if best else None,
        baseline=baseline.mean if baseline else None,
        n_concepts=len({r.concept.lower() for r in hist.records}),
        iterations_done=hist.last_completed_iteration + 1,
        iterations_total=total,
        images=list(best.images) if best else [],
    )


def summaries() -> list[RunSummary]:
    """Every run under the runs folder, newest first."""
    return [summarize(path) for path in list_runs(runs_dir())]
