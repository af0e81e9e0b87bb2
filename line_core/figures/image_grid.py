"""Image grid: the top concepts' most activating images, each captioned with its activation.

The layout is computed once in inches (:func:`grid_layout`) and drawn by plotly here and by
matplotlib in the fallback, so both look the same. A 7 in (double) figure puts two concept
panels side by side instead of doubling the image size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import plotly.graph_objects as go

from line_core.figures.common import finish, font_sizes
from line_core.figures.data import GridRow, data_uri, grid_rows, thumbnail
from line_core.figures.style import PX_PER_IN, Preset, get_preset
from line_core.record.history import RunHistory

HEADER_IN = 0.17
CAPTION_IN = 0.14
PANEL_IN = 3.5
PANEL_GAP_IN = 0.15


@dataclass
class CellBox:
    """Where one image goes (inches from the top-left corner of the figure)."""

    left: float
    top: float
    size: float


@dataclass
class PanelBox:
    """One concept's panel: header position and its image cells."""

    left: float
    top: float
    cells: list[CellBox]


def panel_columns(width_in: float) -> int:
    """How many concept panels fit side by side (one per 3.5 in)."""
    return max(1, int((width_in + 0.01) // PANEL_IN))


def grid_layout(n_rows: int, n_images: int, width_in: float) -> tuple[list[PanelBox], float]:
    """Panels for ``n_rows`` concepts of ``n_images`` images each, and the figure height."""
    columns = panel_columns(width_in)
    panel_w = (width_in - PANEL_GAP_IN * (columns - 1)) / columns
    cell = panel_w / max(n_images, 1)
    panel_h = HEADER_IN + cell + CAPTION_IN
    panels = []
    for index in range(n_rows):
        row, col = divmod(index, columns)
        left, top = col * (panel_w + PANEL_GAP_IN), row * panel_h
        cells = [CellBox(left + j * cell, top + HEADER_IN, cell) for j in range(n_images)]
        panels.append(PanelBox(left, top, cells))
    n_panel_rows = -(-n_rows // columns) if n_rows else 1
    return panels, n_panel_rows * panel_h + 0.04


def default_concepts(preset: str | Preset | None) -> int:
    """Four concepts per panel column."""
    width = get_preset(preset).width_in if preset is not None else 7.0
    return 4 * panel_columns(width)


def prepare_grid(
    history: RunHistory,
    run_dir: Path | str,
    preset: str | Preset | None,
    n_concepts: int | None,
    n_images: int,
    groups: Sequence[Sequence[str]] = (),
) -> tuple[list[GridRow], list[PanelBox], float, float]:
    """Rows, panel boxes, width and height (inches) of an image grid (per meaning: ``groups``)."""
    width_in = get_preset(preset).width_in if preset is not None else 7.0
    rows = grid_rows(history, run_dir, n_concepts or default_concepts(preset), n_images, groups)
    n_cols = max([len(r.cells) for r in rows] + [1])
    panels, height_in = grid_layout(len(rows), n_cols, width_in)
    return rows, panels, width_in, height_in


def image_grid(
    history: RunHistory,
    run_dir: Path | str,
    preset: str | Preset | None = "single",
    n_concepts: int | None = None,
    n_images: int = 5,
    groups: Sequence[Sequence[str]] = (),
) -> go.Figure:
    """Rows = top concepts (header: concept and AUC), columns = their most activating images.

    ``groups``: the concepts of each meaning; with two or more, every meaning gets rows
    (headed ``G1 · concept``), so a multi-meaning unit shows each meaning's images.
    """
    rows, panels, width_in, height_in = prepare_grid(history, run_dir, preset, n_concepts,
                                                     n_images, groups)
    body, small = font_sizes(preset)
    fig = go.Figure()

    def fx(inches: float) -> float:
        return inches / width_in

    def fy(inches: float) -> float:
        return 1.0 - inches / height_in

    for row, panel in zip(rows, panels, strict=True):
        fig.add_annotation(
            x=fx(panel.left),
            y=fy(panel.top),
            xref="paper",
            yref="paper",
            xanchor="left",
            yanchor="top",
            text=f"<b>{row.title}</b>  AUC {row.auc:.2f}",
            showarrow=False,
            font={"size": body},
            borderpad=0,
        )
        for cell, box in zip(row.cells, panel.cells, strict=False):
            pad = 0.03 * box.size
            fig.add_layout_image(
                source=data_uri(thumbnail(cell.path)),
                xref="paper",
                yref="paper",
                x=fx(box.left + pad),
                y=fy(box.top + pad),
                sizex=fx(box.size - 2 * pad),
                sizey=(box.size - 2 * pad) / height_in,
                xanchor="left",
                yanchor="top",
                sizing="contain",
                layer="above",
            )
            fig.add_annotation(
                x=fx(box.left + box.size / 2),
                y=fy(box.top + box.size),
                xref="paper",
                yref="paper",
                xanchor="center",
                yanchor="top",
                text=f"{cell.activation:.2f}",
                showarrow=False,
                font={"size": small},
                borderpad=0,
            )
    fig.update_xaxes(visible=False, range=[0, 1])
    fig.update_yaxes(visible=False, range=[0, 1])
    fig = finish(fig, preset, height_in=height_in, screen_height=round(height_in * PX_PER_IN))
    fig.update_layout(margin={"l": 0, "r": 0, "t": 0, "b": 0, "pad": 0}, showlegend=False)
    if preset is None:
        fig.update_layout(width=round(width_in * PX_PER_IN))
    return fig
