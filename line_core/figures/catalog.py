"""The figures of one run, built once from its folder for either backend."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
from matplotlib.figure import Figure

from line_core.analysis.embedding import Embedder
from line_core.analysis.polysemanticity import PolyConfig, PolysemanticityReport, polysemanticity
from line_core.errors import RunStoreError
from line_core.figures.activation_bars import activation_bars
from line_core.figures.data import control_from_manifest
from line_core.figures.image_grid import image_grid
from line_core.figures.poly_map import poly_map
from line_core.figures.score_curve import score_curve
from line_core.figures.style import Preset
from line_core.record.history import RunHistory
from line_core.record.manifest import Manifest
from line_core.record.read import load_history

#: The per-run figures, in export order.
RUN_FIGURES = ("score_curve", "activation_bars", "image_grid", "poly_map")


@dataclass
class RunData:
    """Everything the run figures need: history, manifest, control activations, analysis."""

    run_dir: Path
    history: RunHistory
    manifest: Manifest | None
    control: np.ndarray | None
    report: PolysemanticityReport


def load_run_data(
    run_dir: Path | str,
    control: Sequence[float] | None = None,
    embedder: Embedder | None = None,
    config: PolyConfig | None = None,
) -> RunData:
    """Read a run folder and analyse it; RunStoreError if it is not a readable run.

    ``control`` overrides the control activations recorded in the manifest.
    """
    history = load_history(run_dir)
    manifest = history.manifest
    if not history.records:
        raise RunStoreError(f"{run_dir} has no scored concepts yet: nothing to plot")
    values = np.asarray(control, dtype=np.float64) if control is not None else None
    values = values if values is not None else control_from_manifest(manifest)
    report = polysemanticity(history, config=config, embedder=embedder, control=values)
    return RunData(Path(run_dir), history, manifest, values, report)


def meanings(data: RunData) -> list[list[str]]:
    """The concepts of each driver group (the image grid shows each meaning's images)."""
    return [group.concepts for group in data.report.groups]


def plotly_figures(data: RunData, preset: str | Preset | None = "single") -> dict[str, go.Figure]:
    """The run's figures as plotly figures, keyed by :data:`RUN_FIGURES` names."""
    return {
        "score_curve": score_curve(data.history, preset),
        "activation_bars": activation_bars(data.history, data.control, preset),
        "image_grid": image_grid(data.history, data.run_dir, preset, groups=meanings(data)),
        "poly_map": poly_map(data.history, preset, report=data.report),
    }


def mpl_figures(data: RunData, preset: str | Preset = "single") -> dict[str, Figure]:
    """The same figures drawn with matplotlib (the browser-free fallback)."""
    from line_core.figures import mpl

    return {
        "score_curve": mpl.score_curve_mpl(data.history, preset),
        "activation_bars": mpl.activation_bars_mpl(data.history, data.control, preset),
        "image_grid": mpl.image_grid_mpl(data.history, data.run_dir, preset,
                                         groups=meanings(data)),
        "poly_map": mpl.poly_map_mpl(data.report, preset),
    }
