"""Start and stop a real ``line dashboard`` server for the browser tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from line_core import engine
from line_core.record import list_runs

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def dashboard_server(runs: Path, log_path: Path, env: dict[str, str] | None = None,
                     patience_s: float = 60) -> Iterator[str]:
    """``line dashboard`` on ``runs`` (the way users start it); yields its base URL.

    On exit the runs' live writers (the explain workers) and the server are stopped.
    """
    port = free_port()
    log = open(log_path, "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-m", "line_core.cli", "dashboard", "--runs-dir", str(runs),
         "--port", str(port)],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, **(env or {})},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + patience_s
        while True:
            try:
                urllib.request.urlopen(f"{base}/_stcore/health", timeout=2)
                break
            except OSError:
                if time.time() > deadline or process.poll() is not None:
                    raise RuntimeError("the Streamlit server did not start") from None
                time.sleep(0.3)
        yield base
    finally:
        for run_dir in list_runs(runs):
            writer = engine.status(run_dir).writer
            if writer is not None and writer.pid and writer.pid != process.pid:
                os.kill(writer.pid, signal.SIGTERM)
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
        log.close()


def assert_no_view_error(log_path: Path) -> None:
    """No exception escaped a view (kaleido's browser driver may log its own noise)."""
    server_log = log_path.read_text()
    assert str(ROOT / "dashboard") not in server_log, server_log[-3000:]
