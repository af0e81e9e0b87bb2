"""Image grid: the top concepts' most activating images, each captioned with its activation."""

from __future__ import annotations

from pathlib import Path

import plotly.graph_objects as go

from line_core.figures.common import finish, font_sizes
from line_core.figures.data import data_uri, grid_rows, thumbnail
from line_core.figures.style import PX_PER_IN, Preset, get_preset
from line_core.history import RunHistory

HEADER_IN = 0.17
CAPTION_IN = 0.15


def grid_height_in(n_rows: int, n_cols: int, width_in: float) -> float:
    """Height for rows of square images with a header line above and a caption below."""
    cell = width_in / max(n_cols, 1)
    return n_rows * (HEADER_IN + cell + CAPTION_IN) + 0.05


def image_grid(
    history: RunHistory,
    run_dir: Path | str,
    preset: str | Preset | None = "single",
    n_concepts: int = 4,
    n_images: int = 5,
) -> go.Figure:
    """Rows = top concepts (header: concept and AUC), columns = their most activating images."""
    rows = grid_rows(history, run_dir, n_concepts, n_images)
    n_cols = max([len(r.cells) for r in rows] + [n_images if rows else 1])
    width_in = get_preset(preset).width_in if preset is not None else 7.0
    height_in = grid_height_in(len(rows), n_cols, width_in)
    body, small = font_sizes(preset)
    cell_w = 1.0 / n_cols
    row_h = 1.0 / max(len(rows), 1)
    header = HEADER_IN / height_in
    caption = CAPTION_IN / height_in
    pad = 0.03 * cell_w
    fig = go.Figure()
    for i, row in enumerate(rows):
        top = 1.0 - i * row_h
        fig.add_annotation(
            x=0.0,
            y=top,
            xref="paper",
            yref="paper",
            xanchor="left",
            yanchor="top",
            text=f"<b>{row.concept}</b>  AUC {row.auc:.2f}",
            showarrow=False,
            font={"size": body},
        )
        for j, cell in enumerate(row.cells):
            left = j * cell_w
            fig.add_layout_image(
                source=data_uri(thumbnail(cell.path)),
                xref="paper",
                yref="paper",
                x=left + pad,
                y=top - header,
                sizex=cell_w - 2 * pad,
                sizey=row_h - header - caption,
                xanchor="left",
                yanchor="top",
                sizing="contain",
                layer="above",
            )
            fig.add_annotation(
                x=left + cell_w / 2,
                y=top - row_h + caption,
                xref="paper",
                yref="paper",
                xanchor="center",
                yanchor="top",
                text=f"{cell.activation:.2f}",
                showarrow=False,
                font={"size": small},
            )
    fig.update_xaxes(visible=False, range=[0, 1])
    fig.update_yaxes(visible=False, range=[0, 1])
    fig = finish(fig, preset, height_in=height_in, screen_height=round(height_in * PX_PER_IN))
    fig.update_layout(margin={"l": 2, "r": 2, "t": 2, "b": 2}, showlegend=False)
    return fig
