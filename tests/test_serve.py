"""`line dashboard` binds to 127.0.0.1 and keeps usage statistics off, wherever it starts."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from line_core.errors import ConfigError
from line_core.serve import dashboard_command


def test_command_carries_every_setting():
    command = dashboard_command("127.0.0.1", 8765)
    assert command[1:4] == ["-m", "streamlit", "run"] and command[4].endswith("app.py")
    assert "--server.address=127.0.0.1" in command and "--server.port=8765" in command
    assert "--browser.gatherUsageStats=false" in command
    with pytest.raises(ConfigError, match="--port"):
        dashboard_command("127.0.0.1", 70000)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _outside_address() -> str | None:
    """This machine's address on a non-loopback interface (None when it has none)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


@pytest.mark.slow
def test_started_elsewhere_it_listens_on_loopback_only(tmp_path):
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "line_core.cli", "dashboard", "--runs-dir", str(tmp_path / "r"),
         "--port", str(port)],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        deadline = time.time() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                    break
            except OSError:
                if time.time() > deadline or process.poll() is not None:
                    raise AssertionError("the dashboard did not start") from None
                time.sleep(0.5)
        outside = _outside_address()
        if outside is not None:
            with socket.socket() as client, pytest.raises(OSError):
                client.settimeout(2)
                client.connect((outside, port))
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
