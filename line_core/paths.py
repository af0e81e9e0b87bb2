"""Where LINE keeps caches (converted models, control activations)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(*parts: str) -> Path:
    """``$LINE_CACHE_DIR`` or ``~/.cache/line``, plus sub-folders, created on demand."""
    root = Path(os.environ.get("LINE_CACHE_DIR") or Path.home() / ".cache" / "line")
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
