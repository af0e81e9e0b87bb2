"""Helpers shared by the plotly builders."""

from __future__ import annotations

import plotly.graph_objects as go

from line_core.figures.style import FONT_FAMILY, Preset, apply_paper_style, get_preset


def finish(
    fig: go.Figure, preset: str | Preset | None, height_in: float, screen_height: int = 420
) -> go.Figure:
    """Paper styling for a preset, or a responsive screen layout when ``preset`` is None."""
    if preset is not None:
        return apply_paper_style(fig, preset, height_in)
    fig.update_layout(
        template="simple_white",
        height=screen_height,
        font={"family": FONT_FAMILY, "size": 13},
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
    )
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    return fig


def font_sizes(preset: str | Preset | None) -> tuple[float, float]:
    """(body, small) font sizes in px for a preset (screen sizes when None)."""
    if preset is None:
        return 13.0, 11.0
    p = get_preset(preset)
    return p.font_px, p.small_px


def top_legend(fig: go.Figure) -> None:
    """A horizontal legend above the plot area (keeps the plot full width at 3.5 in)."""
    fig.update_layout(
        legend={
            "orientation": "h",
            "yanchor": "bottom",
            "y": 1.01,
            "xanchor": "left",
            "x": 0.0,
            "itemwidth": 30,
            "tracegroupgap": 0,
        }
    )
