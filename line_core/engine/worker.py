"""Run explanations in a background process that writes only to the run record.

The engine's door creates and validates a run in the caller's process, gives its writer lock
back, then starts a worker process that resumes it (``line explain --resume RUN_DIR``). The
worker takes the writer lock; whether a run is live is read from that lock. ``worker.json``
records the worker's pid only to tell "starting" (models loading, lock not yet taken) from
"never started".
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from line_core.record.lock import live_writer
from line_core.record.store import atomic_write_text

WORKER_FILE = "worker.json"
LOG_FILE = "worker.log"


def launch_worker(run_dir: Path | str) -> int:
    """Start a detached worker process for a run folder; returns its pid.

    Nothing starts while a process holds the run's writer lock (it applies new commands
    itself). Otherwise a worker starts even if an earlier one is still exiting or starting:
    the writer lock lets exactly one of them write, the other stops with one line.
    """
    run_dir = Path(run_dir)
    writer = live_writer(run_dir)
    if writer is not None:
        return writer.pid
    log = open(run_dir / LOG_FILE, "ab")  # noqa: SIM115 - the child owns the handle
    process = subprocess.Popen(
        [sys.executable, "-m", "line_core.cli", "explain", "--resume", str(run_dir), "--json"],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    log.close()
    atomic_write_text(run_dir / WORKER_FILE, json.dumps({"pid": process.pid}))
    return process.pid


def worker_pid(run_dir: Path | str) -> int | None:
    """The pid recorded for a run's worker, if any."""
    try:
        return int(json.loads((Path(run_dir) / WORKER_FILE).read_text())["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def worker_alive(run_dir: Path | str) -> bool:
    """Whether the run's worker process is running (zombies count as dead)."""
    pid = worker_pid(run_dir)
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # reap our own finished child so it does not linger as a zombie
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    except ChildProcessError:
        pass
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists():
        try:
            return stat.read_text().split(")")[-1].split()[0] != "Z"
        except OSError:
            return True
    return True


def worker_log_tail(run_dir: Path | str, lines: int = 5) -> str:
    """The last lines the worker printed (its one-line error, when it failed)."""
    path = Path(run_dir) / LOG_FILE
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
