"""The writer lock of a run folder: one process appends events, every other process reads.

An advisory ``flock`` on ``RUN/.writer.lock`` is held for as long as a process writes the run
(the CLI, the dashboard's worker, a sweep). The kernel drops it when that process dies, even by
SIGKILL, so a crashed run never stays locked. The file also holds who took the lock (pid, host,
command, time), so a second writer gets one line naming the holder, and a reader can tell a live
run from an interrupted one without any pid bookkeeping of its own.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from line_core.errors import RunLockedError

LOCK_FILE = ".writer.lock"
#: How long a writer retries while a reader's momentary liveness probe holds the lock.
ACQUIRE_PATIENCE_S = 2.0


@dataclass(frozen=True)
class LockHolder:
    """Who holds (or last held) a run's writer lock."""

    pid: int
    host: str
    command: str
    since: float

    def describe(self) -> str:
        """'pid 123 on host (line explain ...) since 12:00:01'."""
        when = time.strftime("%H:%M:%S", time.localtime(self.since))
        return f"pid {self.pid} on {self.host} ({self.command}) since {when}"


def _read_holder(path: Path) -> LockHolder | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "{}")
        return LockHolder(int(data["pid"]), str(data["host"]), str(data["command"]),
                          float(data["since"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _try_flock(fd: int, mode: int) -> bool:
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


class WriterLock:
    """The exclusive writer lock of one run folder; use as a context manager."""

    def __init__(self, run_dir: Path | str) -> None:
        self.path = Path(run_dir) / LOCK_FILE
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._fd is not None

    def acquire(self, patience_s: float = ACQUIRE_PATIENCE_S) -> WriterLock:
        """Take the lock or raise RunLockedError naming the holder."""
        if self._fd is not None:
            return self
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + patience_s
        while not _try_flock(fd, fcntl.LOCK_EX):
            if time.monotonic() >= deadline:
                os.close(fd)
                holder = _read_holder(self.path)
                who = holder.describe() if holder else "another process"
                raise RunLockedError(
                    f"{self.path.parent} is being written by {who}; wait for it to finish "
                    "or stop it first (one writer per run)"
                )
            time.sleep(0.05)
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "command": " ".join(Path(sys.argv[0]).name.split() + sys.argv[1:])[:200],
            "since": time.time(),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        """Give the lock back (the holder record stays as 'last held by')."""
        if self._fd is None:
            return
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> WriterLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def live_writer(run_dir: Path | str) -> LockHolder | None:
    """The process writing this run now, or None when nobody holds its lock.

    Probes with a shared, non-blocking lock held for microseconds (a writer that starts at that
    moment retries for :data:`ACQUIRE_PATIENCE_S`).
    """
    path = Path(run_dir) / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        if _try_flock(fd, fcntl.LOCK_SH):
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
    finally:
        os.close(fd)
    return _read_holder(path) or LockHolder(0, "?", "unknown writer", 0.0)
