"""Flat tables of a run's history (history.csv and history.parquet), written atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from line_core.record.history import RunHistory

TABLE_NAMES = ("history.csv", "history.parquet")


def write_history_tables(run_dir: Path | str, history: RunHistory) -> list[Path]:
    """Write history.csv and history.parquet beside the events (Parquet needs pyarrow)."""
    import pandas as pd

    frame = pd.DataFrame(history.table())
    written = []
    for name in TABLE_NAMES:
        path = Path(run_dir) / name
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{name}.", suffix=".tmp")
        os.close(fd)
        try:
            if name.endswith(".csv"):
                frame.to_csv(tmp, index=False)
            else:
                frame.to_parquet(tmp, index=False)
            os.replace(tmp, path)
            written.append(path)
        except ImportError:
            Path(tmp).unlink(missing_ok=True)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return written


def tables_current(run_dir: Path | str) -> bool:
    """Whether the history tables exist and are newer than the events file."""
    folder = Path(run_dir)
    events = folder / "events.jsonl"
    try:
        newest_event = events.stat().st_mtime_ns
        return all((folder / n).stat().st_mtime_ns >= newest_event for n in TABLE_NAMES[:1])
    except OSError:
        return False
