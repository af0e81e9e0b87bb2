"""Reading runs from the dashboard: run folders, cached histories, run summaries.

Every derived fact (label with bans applied, baseline, totals, pending commands, review,
status) comes from :class:`~line_core.record.RunHistory` and the engine's door; this module
only caches histories by the files' (mtime, size), so polling a live run every second
re-parses its events only when the worker has written something.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st

from line_core import engine
from line_core.errors import RunStoreError
from line_core.record import Manifest, RunHistory, RunStatus, RunStore, list_runs
from line_core.record.store import COMMANDS, EVENTS, MANIFEST

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


def events_stamp(run_dir: Path | str) -> tuple[int, int]:
    """(mtime, size) of a run's events file: changes whenever the run wrote something."""
    return _stamp(Path(run_dir) / EVENTS)


def stamps(run_dir: Path | str) -> tuple[tuple[int, int], ...]:
    """Stamps of everything a history is read from: events, commands and manifest."""
    path = Path(run_dir)
    return tuple(_stamp(path / name) for name in (EVENTS, COMMANDS, MANIFEST))


@st.cache_data(max_entries=256, show_spinner=False)
def _history(run_dir: str, stamp: tuple[tuple[int, int], ...]) -> RunHistory:
    return engine.history(run_dir)


def history(run_dir: Path | str) -> RunHistory:
    """A run's history (RunStoreError if unreadable), re-read only when its files changed."""
    return _history(str(Path(run_dir)), stamps(run_dir))


def manifest(run_dir: Path | str) -> Manifest:
    """A run's typed manifest (from its cached history)."""
    found = history(run_dir).manifest
    if found is None:  # load_history always sets it; a defensive one-line error otherwise
        raise RunStoreError(f"{run_dir} has no readable manifest: not a LINE run folder")
    return found


def store(run_dir: Path | str) -> RunStore:
    """The run store of a folder (no validation: use it for images)."""
    return RunStore(Path(run_dir))


def status(run_dir: Path | str, hist: RunHistory) -> RunStatus:
    """What the run is doing now (the engine's word: starting, running, review, ...)."""
    return engine.status(run_dir, hist)


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
    worked_seconds: float = 0.0
    images: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def title(self) -> str:
        """Short text naming the unit."""
        return f"{self.model} · {self.layer} · unit {self.neuron}"


def summarize(run_dir: Path) -> RunSummary:
    """A run's summary (a corrupt run gets ``error`` set instead of raising)."""
    key = run_key(run_dir)
    try:
        hist = history(run_dir)
        info = manifest(run_dir)
    except RunStoreError as exc:
        return RunSummary(key, run_dir, "?", "?", -1, "?", "?", "", "failed", error=str(exc))
    best = hist.best()
    baseline = hist.baseline()
    return RunSummary(
        key=key,
        run_dir=run_dir,
        model=info.config.model,
        layer=info.layer,
        neuron=info.neuron,
        proposer=info.backend_name("proposer"),
        generator=info.backend_name("generator"),
        created=info.created,
        status=status(run_dir, hist).word,
        label=best.concept if best else None,
        auc=best.auc if best else None,
        auc_low=best.auc_low if best else None,
        auc_high=best.auc_high if best else None,
        mad=best.mad if best else None,
        baseline=baseline.mean if baseline else None,
        n_concepts=len(hist.unique_records()),
        iterations_done=hist.iterations_done,
        iterations_total=hist.iterations_total,
        worked_seconds=hist.worked_seconds,
        images=list(best.images) if best else [],
    )


def summaries() -> list[RunSummary]:
    """Every run under the runs folder, newest first."""
    return [summarize(path) for path in list_runs(runs_dir())]
