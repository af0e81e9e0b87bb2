"""The engine's one door: start, resume, preflight, steer, stop, status.

The CLI and the dashboard call these functions and nothing else of the engine.

Every function validates before it writes: a bad model, layer, unit, count, control folder or
unreachable LLM server is one ``LineError`` line and no run folder. A run folder is written by
one process at a time (its writer lock); anyone may read it or post commands to it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from line_core.config import ExplainConfig
from line_core.engine.components import Components, build_components
from line_core.engine.loop import Explainer, one_line
from line_core.engine.preflight import preflight as preflight_checks
from line_core.engine.preflight import require_finite
from line_core.engine.provenance import build_manifest
from line_core.engine.worker import launch_worker, worker_alive
from line_core.record.commands import Command, Stop
from line_core.record.events import RunFailed
from line_core.record.history import RunHistory
from line_core.record.read import RunStatus, load_history, run_status
from line_core.record.store import BadLine, RunStore, slug

#: Control prompts rendered for the duplicate-layer pre-flight check.
PREFLIGHT_IMAGES = 4


def prepare(config: ExplainConfig, *, progress: bool = False, **backends: Any) -> Components:
    """Resolve and check every backend a config names (no file written).

    ``backends`` may pass ready objects (``target``, ``generator``, ``proposer``) so a server
    process reuses loaded models. Raises a LineError with one line for anything that cannot work,
    including non-finite activations and an unreachable LLM server.
    """
    parts = build_components(config, progress=progress, **backends)
    require_finite(parts.control.unit(parts.neuron), parts.layer, parts.neuron)
    check_ready = getattr(parts.proposer, "check_ready", None)
    if callable(check_ready):
        check_ready()
    return parts


def preflight(
    config: ExplainConfig,
    parts: Components | None = None,
    *,
    layers: dict[str, int] | None = None,
    **backends: Any,
) -> list[str]:
    """Warnings about a config that would run but mean little (dead unit, tiny control, ...).

    Problems that cannot run at all raise (see :func:`prepare`). ``layers`` (the model's layer
    table) enables the duplicate-layer check.
    """
    parts = parts or prepare(config, **backends)
    images = []
    if layers:
        prompts = parts.generator.control_prompts()[:PREFLIGHT_IMAGES]
        images = [img for i, p in enumerate(prompts) for img in parts.generator.generate(p, [i])]
    return preflight_checks(
        parts.target,
        parts.layer,
        parts.neuron,
        parts.control,
        config.images_per_concept,
        images=images,
        layers=layers,
        reduction=config.reduction,
    )


@dataclass
class Started:
    """A new run: its explainer (holding the writer lock) and the pre-flight warnings."""

    explainer: Explainer
    warnings: list[str]

    @property
    def run_dir(self) -> Path:
        """The run's folder."""
        return self.explainer.store.run_dir


def start(config: ExplainConfig, *, progress: bool = False, **backends: Any) -> Started:
    """Validate a config, run the pre-flight checks, then create its run folder.

    Iterate ``started.explainer.run()`` to drive it in this process.
    """
    parts = prepare(config, progress=progress, **backends)
    warnings = preflight(config, parts)
    name = f"{parts.target.name}-{parts.layer}-n{parts.neuron}"
    store = RunStore.create(config.runs_dir, build_manifest(config, parts), name=slug(name, 80))
    return Started(Explainer(config, parts, store), warnings)


def start_in_background(config: ExplainConfig, **backends: Any) -> Started:
    """Like :func:`start`, then hand the run to a worker process (what the dashboard does)."""
    started = start(config, **backends)
    started.explainer.store.lock.release()
    launch_worker(started.run_dir)
    return started


def run_config(run_dir: Path | str) -> ExplainConfig:
    """The config a run was started with."""
    return RunStore.open(run_dir).manifest().config


def resume(run_dir: Path | str, *, progress: bool = False, **backends: Any) -> Explainer:
    """Take a run's writer lock, then rebuild its backends and continue it.

    The lock comes first, so a second writer fails at once with a line naming the holder
    instead of loading models for nothing.
    """
    store = RunStore.open(run_dir)
    store.writer()
    try:
        config = replace(store.manifest().config, runs_dir=str(Path(run_dir).parent))
        parts = prepare(config, progress=progress, **backends)
        return Explainer(config, parts, store)
    except Exception as exc:  # the run cannot continue: say why in the record
        _record_failure(store, exc)
        store.lock.release()
        raise
    except BaseException:
        store.lock.release()
        raise


def _record_failure(store: RunStore, exc: Exception) -> None:
    try:
        store.append(RunFailed(message=f"resume failed: {one_line(exc)}"[:500]))
    except (OSError, ValueError):
        pass  # the disk itself failed: the original error is what the user needs


def repair(run_dir: Path | str) -> list[BadLine]:
    """Move a run's corrupt event lines aside (under its writer lock); the lines moved."""
    store = RunStore.open(run_dir)
    with store.writer():
        return store.repair()


def history(run_dir: Path | str) -> RunHistory:
    """A run's history (every derived fact); RunStoreError if it is not a readable run."""
    return load_history(run_dir)


def status(run_dir: Path | str, hist: RunHistory | None = None) -> RunStatus:
    """What a run is doing now, from its events and its writer lock.

    A run whose worker process was started but has not yet taken the lock is ``starting``.
    """
    hist = hist if hist is not None else load_history(run_dir)
    state = run_status(run_dir, hist)
    if not state.live and worker_alive(run_dir) and state.word in ("empty", "interrupted"):
        return RunStatus("starting", None)
    return state


def steer(run_dir: Path | str, command: Command) -> str:
    """Post a researcher's command; if no process is writing the run, start a worker for it.

    Returns the command's id. The loop answers it with a ``UserAction`` event exactly once.
    """
    store = RunStore.open(run_dir)
    command_id = store.post(command)
    current = status(run_dir)
    if not current.live and current.word != "starting" and not isinstance(command, Stop):
        launch_worker(store.run_dir)
    return command_id


def apply_late_commands(run_dir: Path | str, hist: RunHistory | None = None) -> bool:
    """Start a worker for a finished run whose commands nobody applied; whether one started.

    A command posted in the last moment of a run can miss the loop's final check: its writer
    was still alive, so :func:`steer` started no worker. Resuming applies the commands and
    re-finishes the run. A stopped or failed run is left alone (resuming it is the
    researcher's call), and so is a stop command on its own.
    """
    hist = hist if hist is not None else load_history(run_dir)
    waiting = [c for c in hist.pending_commands if not isinstance(c, Stop)]
    current = status(run_dir, hist)
    if not waiting or current.live or current.word != "finished":
        return False
    launch_worker(Path(run_dir))
    return True


def stop(run_dir: Path | str) -> str:
    """Ask a run to stop after its current stage (a resume continues it)."""
    return steer(run_dir, Stop())


def resume_in_background(run_dir: Path | str) -> int:
    """Continue a run in a worker process; returns the worker's pid (or the live writer's)."""
    RunStore.open(run_dir)
    return launch_worker(Path(run_dir))
