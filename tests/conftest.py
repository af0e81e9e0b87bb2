import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Concept atlases of this test session only (a developer's own atlases never leak into tests);
# subprocesses (the CLI, workers, the dashboard) inherit it.
os.environ["LINE_ATLAS_DIR"] = tempfile.mkdtemp(prefix="line-test-atlas-")
atexit.register(shutil.rmtree, os.environ["LINE_ATLAS_DIR"], ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def _torch_threads():
    import torch

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = os.environ.get("BROWSER_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.skip("needs Debian package 'chromium' (apt-get install chromium)")
    return path


@pytest.fixture(scope="session")
def planted_runs(tmp_path_factory) -> dict[str, Path]:
    """Finished runs made by the real loop on planted units: "mono" (red), "or" (red OR stripes)."""
    from planted_runs import make_run

    root = tmp_path_factory.mktemp("planted-runs")
    return {kind: make_run(root / kind, kind) for kind in ("mono", "or")}
