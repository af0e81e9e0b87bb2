"""Top real exemplars: the control-folder images that drive a unit most."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from line_core.record import Manifest


def top_exemplars(
    manifest: Manifest, top: int = 8
) -> tuple[list[tuple[str, float, str | None]], str | None]:
    """(path, activation, class) of the most activating control images, or a reason why not.

    The run's manifest names every control image in the order it was scored, so the page
    never has to re-read (or re-guess the order of) the control folder.
    """
    folder = str(manifest.config.control or "generator")
    if folder == "generator":
        return [], "the control set is generator-rendered, not a folder of real images"
    control = manifest.control
    values = np.asarray(control.activations, dtype=float)
    if not control.refs:
        return [], "this run was made before runs recorded their control images: re-run it"
    if len(control.refs) != values.size:
        return [], "the run's control record is inconsistent (images and activations differ)"
    order = np.argsort(-values)[:top]
    missing = [control.refs[i] for i in order if not Path(control.refs[i]).is_file()]
    if missing:
        return [], f"the control image '{missing[0]}' is not on this machine any more"
    labels = control.labels
    return [(control.refs[i], float(values[i]), labels[i] if labels else None) for i in order], None
