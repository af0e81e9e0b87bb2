"""Reading a run folder as one object: manifest, effective events, commands, liveness."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from line_core.record.history import RunHistory, build_history
from line_core.record.lock import LockHolder, live_writer
from line_core.record.store import MANIFEST, RunStore


def load_history(run_dir: Path | str) -> RunHistory:
    """The history of a run folder (RunStoreError if it is not a readable run)."""
    store = RunStore.open(run_dir)
    events, bad = store.read_events()  # one read of the (possibly large) events file
    return build_history(
        events, commands=store.commands(), manifest=store.manifest(), corrupt_lines=len(bad)
    )


@dataclass(frozen=True)
class RunStatus:
    """A run's status word with the live writer, if any.

    ``word`` is the history's status, except that a run whose events say ``running`` or
    ``review`` but whose writer lock nobody holds is ``interrupted`` (resume it).
    """

    word: str
    writer: LockHolder | None

    @property
    def live(self) -> bool:
        """Whether a process is writing the run now."""
        return self.writer is not None


def run_status(run_dir: Path | str, history: RunHistory) -> RunStatus:
    """Combine the history's status with the writer lock."""
    writer = live_writer(run_dir)
    word = history.status
    if writer is None and word in ("running", "review"):
        word = "interrupted"
    if writer is not None and word == "empty":
        word = "starting"
    if writer is not None and word in ("finished", "stopped", "failed") and (
        history.pending_commands
    ):
        word = "running"
    return RunStatus(word, writer)


def list_runs(runs_dir: Path | str) -> list[Path]:
    """Run folders (those with a manifest) under ``runs_dir``, newest first."""
    root = Path(runs_dir)
    if not root.is_dir():
        return []
    found = [p.parent for p in root.glob(f"**/{MANIFEST}") if p.parent.is_dir()]
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)
