"""The record of a layer sweep: its settings, its neurons, and the run folder of each.

A sweep lives in ``RUNS_DIR/sweeps/<name>/sweep.json``; each neuron's run is an ordinary run
folder in ``RUNS_DIR`` (the dashboard, export and resume treat it like any run). The file is
rewritten atomically whenever a neuron's run folder is created, by the one process holding the
sweep's writer lock, so a sweep killed at any moment knows every run it started.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from line_core.config import ExplainConfig
from line_core.errors import RunStoreError
from line_core.record.lock import WriterLock

SWEEPS = "sweeps"
SWEEP_FILE = "sweep.json"


@dataclass
class SweepRecord:
    """One sweep: the shared config (``neuron`` unset), its neurons, and their run folders."""

    folder: Path
    config: ExplainConfig
    neurons: list[int]
    runs: dict[int, str] = field(default_factory=dict)  #: neuron -> run folder name
    created: str = ""
    parallel: int = 64

    def writer_lock(self) -> WriterLock:
        """A handle on the sweep's writer lock (one process drives a sweep at a time)."""
        return WriterLock(self.folder)

    def to_dict(self) -> dict[str, Any]:
        """The file's content."""
        return {
            "config": self.config.to_dict(),
            "neurons": self.neurons,
            "runs": {str(k): v for k, v in sorted(self.runs.items())},
            "created": self.created,
            "parallel": self.parallel,
        }

    def save(self) -> None:
        """Rewrite ``sweep.json`` atomically."""
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(self.to_dict(), handle, indent=1)
            os.replace(tmp, self.folder / SWEEP_FILE)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def run_dir(self, neuron: int) -> Path | None:
        """The run folder of a neuron, if its run was started."""
        name = self.runs.get(neuron)
        return self.folder.parent.parent / name if name else None

    def same_plan(self, config: ExplainConfig, neurons: list[int]) -> bool:
        """Whether this sweep was started with the same settings and neurons."""
        mine = {k: v for k, v in self.config.to_dict().items() if k not in ("neuron",)}
        theirs = {k: v for k, v in config.to_dict().items() if k not in ("neuron",)}
        return mine == theirs and self.neurons == neurons


def new_sweep(config: ExplainConfig, neurons: list[int], parallel: int) -> SweepRecord:
    """A new sweep folder under the config's runs folder (written at once)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    name = f"{config.model}-{config.layer}-{stamp}".replace("/", "_").replace(" ", "_")
    folder = Path(config.runs_dir) / SWEEPS / name
    suffix = 1
    while folder.exists():
        suffix += 1
        folder = Path(config.runs_dir) / SWEEPS / f"{name}-{suffix}"
    record = SweepRecord(folder, config, neurons, {}, time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                         parallel)
    record.save()
    return record


def read_sweep(folder: Path | str) -> SweepRecord:
    """A sweep's record; RunStoreError (one line) if the folder holds no readable sweep."""
    path = Path(folder) / SWEEP_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return SweepRecord(
            folder=Path(folder),
            config=ExplainConfig.from_dict(data["config"]),
            neurons=[int(n) for n in data["neurons"]],
            runs={int(k): str(v) for k, v in data.get("runs", {}).items()},
            created=str(data.get("created", "")),
            parallel=int(data.get("parallel", 64)),
        )
    except FileNotFoundError:
        raise RunStoreError(f"'{folder}' is not a sweep folder (no {SWEEP_FILE})") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RunStoreError(f"sweep file {path} cannot be read ({exc})") from None


def list_sweeps(runs_dir: Path | str) -> list[SweepRecord]:
    """Every readable sweep under a runs folder, oldest first."""
    root = Path(runs_dir) / SWEEPS
    if not root.is_dir():
        return []
    found = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        try:
            found.append(read_sweep(folder))
        except RunStoreError:
            continue
    return found
