"""A run on disk and everything derived from it (imports nothing above it).

``store`` (the folder: manifest, append-only events, commands, images, writer lock),
``events`` and ``commands`` (typed lines), ``manifest`` (typed), ``history`` (every derived
fact), ``read`` (a folder as one history plus its liveness), ``tables`` (CSV/Parquet).
"""

from line_core.record.commands import Accept, Ban, Command, Edit, Inject, Rescore, Stop
from line_core.record.history import Baseline, RunHistory, ScoredRecord, best_of, build_history
from line_core.record.lock import LockHolder, WriterLock, live_writer
from line_core.record.manifest import ControlInfo, Manifest
from line_core.record.read import RunStatus, list_runs, load_history, run_status
from line_core.record.store import RunStore, atomic_write_text, slug
from line_core.record.tables import write_history_tables

__all__ = [
    "Accept", "Ban", "Baseline", "Command", "ControlInfo", "Edit", "Inject", "LockHolder",
    "Manifest", "Rescore", "RunHistory", "RunStatus", "RunStore", "ScoredRecord", "Stop",
    "WriterLock", "atomic_write_text", "best_of", "build_history", "list_runs", "live_writer",
    "load_history", "run_status", "slug", "write_history_tables",
]  # fmt: skip
