"""Starting, resuming and reading runs: the entry points the CLI and the dashboard share."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from line_core.components import build_components
from line_core.config import ExplainConfig
from line_core.errors import RunStoreError
from line_core.history import RunHistory, build_history
from line_core.loop import Explainer
from line_core.manifest import build_manifest
from line_core.store import RunStore, slug


def new_run(config: ExplainConfig, *, progress: bool = False, **backends: Any) -> Explainer:
    """Validate a config, then create its run folder; nothing is written if validation fails.

    ``backends`` may pass ready objects (``target``, ``generator``, ``proposer``) to reuse
    loaded models across runs.
    """
    parts = build_components(config, progress=progress, **backends)
    name = f"{parts.target.name}-{parts.layer}-n{parts.neuron}"
    store = RunStore.create(config.runs_dir, build_manifest(config, parts), name=slug(name, 80))
    return Explainer(config, parts, store)


def run_config(run_dir: Path | str) -> ExplainConfig:
    """The config a run was started with."""
    return ExplainConfig.from_dict(RunStore.open(run_dir).manifest()["config"])


def resume_run(run_dir: Path | str, *, progress: bool = False, **backends: Any) -> Explainer:
    """Reopen a run folder and continue after its last completed iteration."""
    store = RunStore.open(run_dir)
    config = ExplainConfig.from_dict(store.manifest()["config"])
    config.runs_dir = str(Path(run_dir).parent)
    parts = build_components(config, progress=progress, **backends)
    return Explainer(config, parts, store)


def load_history(run_dir: Path | str) -> RunHistory:
    """The history of a run folder (RunStoreError if it is not a readable run)."""
    store = RunStore.open(run_dir)
    history = build_history(store.events())
    if history.started is None and not store.raw_events():
        manifest = store.manifest()
        if "config" not in manifest:
            raise RunStoreError(f"{run_dir} is not a LINE run")
    return history
