"""Layer table: one row per run (label, AUC, MAD, polysemanticity), e.g. the units of a layer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

from line_core.analysis.embedding import Embedder
from line_core.analysis.polysemanticity import PolyConfig, PolysemanticityReport, polysemanticity
from line_core.figures.common import finish, font_sizes
from line_core.figures.data import control_from_manifest
from line_core.figures.style import LIGHT_GREY, Preset
from line_core.history import RunHistory, build_history
from line_core.store import RunStore

COLUMNS = ("Run", "Layer", "Unit", "Label", "AUC", "MAD", "Meanings", "Poly.")


@dataclass
class LayerRow:
    """Summary of one run for the layer table."""

    run: str
    layer: str
    neuron: int | None
    label: str
    auc: float
    mad: float
    n_groups: int
    polysemanticity: float

    def cells(self) -> list[str]:
        """The row as formatted strings in :data:`COLUMNS` order."""
        return [
            self.run,
            self.layer,
            "" if self.neuron is None else str(self.neuron),
            self.label,
            f"{self.auc:.3f}",
            f"{self.mad:.2f}",
            str(self.n_groups),
            f"{self.polysemanticity:.2f}",
        ]


def row_for(
    run: str, history: RunHistory, report: PolysemanticityReport, manifest: dict[str, Any]
) -> LayerRow:
    """A layer-table row from an already analysed run."""
    best = history.best()
    config = manifest.get("config", {}) if isinstance(manifest.get("config"), dict) else {}
    started = history.started
    return LayerRow(
        run=run,
        layer=started.layer if started else str(config.get("layer", "")),
        neuron=started.neuron if started else config.get("neuron"),
        label=best.concept if best else "",
        auc=best.auc if best else float("nan"),
        mad=best.mad if best else float("nan"),
        n_groups=report.n_groups,
        polysemanticity=report.score,
    )


def summarise_run(
    run_dir: Path | str, embedder: Embedder | None = None, config: PolyConfig | None = None
) -> LayerRow:
    """A run's best label, scores and polysemanticity (RunStoreError if unreadable)."""
    store = RunStore.open(run_dir)
    manifest = store.manifest()
    history = build_history(store.events())
    control = control_from_manifest(manifest)
    report = polysemanticity(history, config=config, embedder=embedder, control=control)
    return row_for(Path(run_dir).name, history, report, manifest)


def layer_rows(run_dirs: Sequence[Path | str], embedder: Embedder | None = None) -> list[LayerRow]:
    """Summaries of several runs, in the given order."""
    return [summarise_run(d, embedder=embedder) for d in run_dirs]


def table_height_in(n_rows: int) -> float:
    """Figure height for a table of ``n_rows`` body rows."""
    return 0.3 + 0.2 * (n_rows + 1)


def layer_table(rows: Sequence[LayerRow], preset: str | Preset | None = "single") -> go.Figure:
    """A plotly table of runs: run, layer, unit, label, AUC, MAD, meanings, polysemanticity."""
    _, small = font_sizes(preset)
    columns = list(zip(*[r.cells() for r in rows], strict=True)) if rows else [[]] * len(COLUMNS)
    row_px = 0.2 * 96 if preset is not None else 26
    fig = go.Figure(
        go.Table(
            columnwidth=[1.6, 1.1, 0.6, 2.0, 0.8, 0.8, 1.0, 0.8],
            header={
                "values": [f"<b>{c}</b>" for c in COLUMNS],
                "fill_color": LIGHT_GREY,
                "align": "left",
                "font": {"size": small, "color": "#000000"},
                "height": row_px,
                "line": {"width": 0},
            },
            cells={
                "values": [list(c) for c in columns],
                "fill_color": "#FFFFFF",
                "align": ["left", "left", "right", "left", "right", "right", "right", "right"],
                "font": {"size": small, "color": "#000000"},
                "height": row_px,
                "line": {"color": LIGHT_GREY, "width": 0.5},
            },
        )
    )
    return finish(fig, preset, height_in=table_height_in(len(rows)))
