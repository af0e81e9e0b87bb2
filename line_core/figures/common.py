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


def text_px(text: str, size: float) -> float:
    """Rough rendered width of a text in Arial-like fonts (0.46 em per character)."""
    return 0.46 * size * len(text)


def top_legend(fig: go.Figure, preset: str | Preset | None, side_px: float = 45) -> None:
    """A legend above the plot in as many equal columns as the longest entry allows.

    Plotly's horizontal legend otherwise falls back to one entry per row when an entry is
    long, which at 3.5 in eats the plot. Measured with kaleido: a column is the entry's text
    width + 45 px (symbol and gaps), and the columns must fit the plot area (the figure minus
    margins and ``side_px``, the axis labels and colour bars beside it).
    """
    names = [t.name for t in fig.data if t.name and t.showlegend is not False]
    _, small = font_sizes(preset)
    plot_px = (get_preset(preset).width_px if preset is not None else 700) - 12 - side_px
    longest = max((text_px(n, small) for n in names), default=30)
    columns = max(1, min(len(names) or 1, int(plot_px // (longest + 45))))
    fig.update_layout(
        legend={
            "orientation": "h",
            "yanchor": "bottom",
            "y": 1.02,
            "xanchor": "left",
            "x": 0.0,
            "entrywidth": max(plot_px / columns - 46, 10),
            "entrywidthmode": "pixels",
            "tracegroupgap": 0,
            "font": {"size": small},
        }
    )
