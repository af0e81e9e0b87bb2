"""Layer table: one row per run (label, AUC, MAD, polysemanticity), e.g. the units of a layer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import plotly.graph_objects as go

from line_core.analysis.embedding import Embedder
from line_core.analysis.polysemanticity import PolyConfig, PolysemanticityReport, polysemanticity
from line_core.figures.common import finish, font_sizes
from line_core.figures.data import control_from_manifest, wrap_label
from line_core.figures.style import LIGHT_GREY, PX_PER_IN, Preset
from line_core.record.history import RunHistory
from line_core.record.read import load_history

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


def row_for(run: str, history: RunHistory, report: PolysemanticityReport) -> LayerRow:
    """A layer-table row from an already analysed run."""
    best = history.best()
    started = history.started
    manifest = history.manifest
    return LayerRow(
        run=run,
        layer=started.layer if started else (manifest.layer if manifest else ""),
        neuron=started.neuron if started else (manifest.neuron if manifest else None),
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
    history = load_history(run_dir)
    control = control_from_manifest(history.manifest)
    report = polysemanticity(history, config=config, embedder=embedder, control=control)
    return row_for(Path(run_dir).name, history, report)


def layer_rows(run_dirs: Sequence[Path | str], embedder: Embedder | None = None) -> list[LayerRow]:
    """Summaries of several runs, in the given order."""
    return [summarise_run(d, embedder=embedder) for d in run_dirs]


#: Columns of the table figure (the run folder name stays in the CSV/LaTeX tables only).
FIGURE_COLUMNS = COLUMNS[1:]
FIGURE_ALIGN = ("left", "right", "left", "right", "right", "right", "right")
ROW_IN = 0.19


@dataclass
class TableGrid:
    """Cells of the table figure: wrapped text lines, relative column widths, row heights."""

    header: list[str]
    cells: list[list[list[str]]]  # rows x columns x lines
    widths: list[float]
    row_lines: list[int]

    @property
    def height_in(self) -> float:
        """Figure height: header plus every row at its number of lines."""
        return ROW_IN * (1 + sum(self.row_lines)) + 0.04


def table_grid(rows: Sequence[LayerRow], label_width: int = 18) -> TableGrid:
    """Wrap long labels and size columns by their longest line (estimated width + padding)."""
    cells = []
    for row in rows:
        values = row.cells()[1:]
        cells.append([wrap_label(v, label_width) if i == 2 else [v] for i, v in enumerate(values)])
    header = list(FIGURE_COLUMNS)
    widths = [
        max([1.12 * len(h)] + [len(line) for r in cells for line in r[i]]) + 4
        for i, h in enumerate(header)
    ]
    return TableGrid(header, cells, widths, [max(len(c) for c in r) for r in cells])


def layer_table(rows: Sequence[LayerRow], preset: str | Preset | None = "single") -> go.Figure:
    """A plotly table of runs: layer, unit, label, AUC, MAD, meanings, polysemanticity."""
    _, small = font_sizes(preset)
    grid = table_grid(rows)
    row_px = ROW_IN * PX_PER_IN if preset is not None else 26
    columns = [["<br>".join(r[i]) for r in grid.cells] for i in range(len(grid.header))]
    fig = go.Figure(
        go.Table(
            columnwidth=grid.widths,
            header={
                "values": grid.header,  # bold via font weight: <b> makes plotly pad the row
                "fill_color": LIGHT_GREY,
                "align": list(FIGURE_ALIGN),
                "font": {"size": small, "color": "#000000", "weight": "bold"},
                "height": row_px,
                "line": {"width": 0},
            },
            cells={
                "values": columns,
                "fill_color": "#FFFFFF",
                "align": list(FIGURE_ALIGN),
                "font": {"size": small, "color": "#000000"},
                "height": row_px,
                "line": {"color": LIGHT_GREY, "width": 0.5},
            },
        )
    )
    fig = finish(fig, preset, height_in=grid.height_in)
    fig.update_layout(margin={"l": 1, "r": 1, "t": 1, "b": 1, "pad": 0})
    return fig
