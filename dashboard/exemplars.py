"""Top real exemplars: the control-folder images that drive a unit most."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st
from PIL import Image, UnidentifiedImageError

from line_core.errors import ConfigError


def _readable(path: Path) -> bool:
    from line_core.control import IMAGE_SUFFIXES

    if path.suffix.lower() not in IMAGE_SUFFIXES:
        return False
    try:
        with Image.open(path) as img:
            img.verify()
    except (OSError, UnidentifiedImageError, ValueError):
        return False
    return True


@st.cache_data(max_entries=16, show_spinner=False)
def control_files(folder: str, skipped: int) -> tuple[list[str], list[str] | None]:
    """The control folder's readable images in the order the run read them, with classes."""
    from line_core.control import scan_folder

    files, labels = scan_folder(Path(folder))
    keep = [_readable(f) for f in files] if skipped else [True] * len(files)
    paths = [str(f) for f, k in zip(files, keep, strict=True) if k]
    classes = [c for c, k in zip(labels, keep, strict=True) if k] if labels else None
    return paths, classes


def top_exemplars(
    manifest: dict, top: int = 8
) -> tuple[list[tuple[str, float, str | None]], str | None]:
    """(path, activation, class) of the most activating control images, or a reason why not."""
    config = manifest.get("config", {})
    folder = str(config.get("control", "generator"))
    if folder in ("", "generator"):
        return [], "the control set is generator-rendered, not a folder of real images"
    control = manifest.get("control", {})
    values = np.asarray(control.get("activations", []), dtype=float)
    try:
        paths, classes = control_files(folder, int(control.get("skipped", 0)))
    except ConfigError as exc:
        return [], f"{exc}"
    if len(paths) != values.size:
        return [], (
            f"the control folder now has {len(paths)} readable images, the run used "
            f"{values.size}: it changed since the run"
        )
    order = np.argsort(-values)[:top]
    return [(paths[i], float(values[i]), classes[i] if classes else None) for i in order], None
