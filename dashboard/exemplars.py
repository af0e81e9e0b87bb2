"""Top real exemplars: the control-folder images that drive a unit most."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st
from PIL import Image, UnidentifiedImageError

from line_core.record import Manifest

#: Image files a control folder is read from (the engine's control loader reads the same).
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm"}


def _readable(path: Path) -> bool:
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        return False
    try:
        with Image.open(path) as img:
            img.verify()
    except (OSError, UnidentifiedImageError, ValueError):
        return False
    return True


def scan(folder: Path) -> tuple[list[Path], list[str] | None]:
    """A control folder's files in the order runs read them (one level of class subfolders)."""
    subdirs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if subdirs:
        files, labels = [], []
        for sub in subdirs:
            for path in sorted(sub.iterdir()):
                if path.is_file() and not path.name.startswith("."):
                    files.append(path)
                    labels.append(sub.name.replace("_", " "))
        return files, labels
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")), None


@st.cache_data(max_entries=16, show_spinner=False)
def control_files(folder: str) -> tuple[list[str], list[str] | None]:
    """The control folder's readable images in the order the run read them, with classes."""
    files, labels = scan(Path(folder))
    keep = [_readable(f) for f in files]
    paths = [str(f) for f, k in zip(files, keep, strict=True) if k]
    classes = [c for c, k in zip(labels, keep, strict=True) if k] if labels else None
    return paths, classes


def top_exemplars(
    manifest: Manifest, top: int = 8
) -> tuple[list[tuple[str, float, str | None]], str | None]:
    """(path, activation, class) of the most activating control images, or a reason why not."""
    folder = str(manifest.config.control or "generator")
    if folder == "generator":
        return [], "the control set is generator-rendered, not a folder of real images"
    root = Path(folder).expanduser()
    if not root.is_dir():
        return [], f"the control folder '{folder}' is not on this machine any more"
    values = np.asarray(manifest.control.activations, dtype=float)
    try:
        paths, classes = control_files(str(root.resolve()))
    except OSError as exc:
        return [], f"the control folder '{folder}' cannot be read ({exc.strerror or exc})"
    if len(paths) != values.size:
        return [], (
            f"the control folder now has {len(paths)} readable images, the run used "
            f"{values.size}: it changed since the run"
        )
    order = np.argsort(-values)[:top]
    return [(paths[i], float(values[i]), classes[i] if classes else None) for i in order], None
