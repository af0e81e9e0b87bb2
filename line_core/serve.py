"""Start the dashboard from anywhere: ``line dashboard`` (bound to 127.0.0.1 by default).

Streamlit reads ``.streamlit/config.toml`` only from the working folder, so a dashboard started
elsewhere would listen on every interface and send usage statistics. Every setting that matters
is therefore passed on the command line here, wherever the command runs.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from line_core.errors import ConfigError

#: Streamlit settings the dashboard always runs with (host and port are added per call).
SETTINGS: dict[str, str] = {
    "server.headless": "true",
    "server.runOnSave": "false",
    "server.fileWatcherType": "none",  # a served dashboard never reloads its own code
    "browser.gatherUsageStats": "false",
    "client.showErrorDetails": "none",
    "client.toolbarMode": "minimal",
    "runner.fastReruns": "true",
    "theme.base": "light",
    "theme.primaryColor": "#0072B2",
    "theme.backgroundColor": "#FFFFFF",
    "theme.secondaryBackgroundColor": "#F4F6F8",
    "theme.textColor": "#1B1F24",
}
RUNS_ENV = "LINE_RUNS_DIR"


def app_path() -> Path:
    """The dashboard's entry script (found without importing the dashboard package)."""
    spec = importlib.util.find_spec("dashboard")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("the dashboard package is not installed: pip install -e . in LINE")
    path = Path(next(iter(spec.submodule_search_locations))) / "app.py"
    if not path.is_file():
        raise ConfigError(f"dashboard entry script not found at {path}")
    return path


def dashboard_command(host: str, port: int) -> list[str]:
    """The streamlit command line for the dashboard."""
    if not 1 <= port <= 65535:
        raise ConfigError(f"--port must be between 1 and 65535; got {port}")
    if not host.strip():
        raise ConfigError("--host is empty: use 127.0.0.1 (this machine only) or 0.0.0.0")
    flags = [f"--{key}={value}" for key, value in {
        **SETTINGS, "server.address": host, "server.port": str(port)}.items()]
    return [sys.executable, "-m", "streamlit", "run", str(app_path()), *flags]


def serve(runs_dir: str, host: str = "127.0.0.1", port: int = 8501) -> int:
    """Run the dashboard in the foreground until interrupted; returns its exit status."""
    from line_core.allocator import tune_allocator

    tune_allocator(inherit=True)  # the streamlit child starts tuned through GLIBC_TUNABLES
    command = dashboard_command(host, port)
    root = Path(runs_dir).expanduser().resolve()
    env = {**os.environ, RUNS_ENV: str(root)}
    print(f"LINE dashboard on http://{host}:{port}  (runs: {root}; Ctrl-C stops it)",
          file=sys.stderr)
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"note: listening on {host}: anyone who can reach this machine can start runs "
              "and load model code", file=sys.stderr)
    try:
        return subprocess.call(command, env=env)
    except KeyboardInterrupt:
        return 130
