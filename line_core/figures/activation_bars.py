"""Activation bars: the pool's concepts beside the control distribution."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from line_core.figures.common import finish, font_sizes, text_px, top_legend
from line_core.figures.data import pool_rows, wrap_label
from line_core.figures.style import GREY, Preset, source_colour
from line_core.record.history import RunHistory


def bars_height_in(n_rows: int, lines: int = 1) -> float:
    """Figure height that keeps each row readable at print size.

    ``lines``: the most label lines of a row (rows are evenly spaced, so every row gets the
    tallest label's room).
    """
    return 0.75 + (0.2 + 0.12 * (max(lines, 1) - 1)) * max(n_rows, 1)


def activation_bars(
    history: RunHistory,
    control: Sequence[float] | None = None,
    preset: str | Preset | None = "single",
    limit: int = 10,
) -> go.Figure:
    """Mean ± sd activation on each pool concept's images, beside the control distribution.

    Dots are single images; the control set (when known) is the last row, and a dashed line
    marks its mean.
    """
    rows = pool_rows(history, control, limit=limit)
    _, small = font_sizes(preset)
    wrapped = [wrap_label(r.label, 24) for r in rows]
    labels = ["<br>".join(lines) for lines in wrapped]
    fig = go.Figure()
    seen: set[str] = set()
    for row, label in zip(rows, labels, strict=True):
        colour = GREY if row.source == "control" else source_colour(row.source)
        name = "control set" if row.source == "control" else row.source
        hover = f"AUC {row.auc:.3f}" if row.auc is not None else "control"
        fig.add_trace(
            go.Bar(
                x=[row.mean],
                y=[label],
                orientation="h",
                marker={"color": colour, "opacity": 0.85,
                        "line": {"width": 0.6, "color": "#333333"}},
                error_x={
                    "type": "data",
                    "array": [row.spread],
                    "thickness": 0.9,
                    "width": 2,
                    "color": "#000000",
                },
                name=name,
                legendgroup=name,
                showlegend=name not in seen and row.source != "control",
                hovertemplate=f"{row.label}<br>mean %{{x:.3f}} ± {row.spread:.3f}<br>{hover}"
                "<extra></extra>",
            )
        )
        seen.add(name)
    for row, label in zip(rows, labels, strict=True):
        values = (
            row.values
            if len(row.values) <= 60
            else list(np.quantile(row.values, np.linspace(0, 1, 60)))
        )
        fig.add_trace(
            go.Scatter(
                x=values,
                y=[label] * len(values),
                mode="markers",
                marker={"color": "#000000", "size": 2.5, "opacity": 0.6},
                showlegend=False,
                hoverinfo="skip",
            )
        )
    if control is not None and len(control) > 0:
        fig.add_vline(
            x=float(np.mean(control)),
            line={"color": "#444444", "width": 1, "dash": "dash"},
            layer="above",
        )
    fig.update_yaxes(categoryorder="array", categoryarray=labels[::-1], tickfont={"size": small})
    fig.update_xaxes(title_text="Activation", showgrid=True, gridcolor="#EEEEEE", zeroline=False)
    fig.update_layout(barmode="overlay", bargap=0.35)
    top_legend(fig, preset, side_px=max(text_px(x, small) for w in wrapped for x in w) + 16)
    lines = max((len(w) for w in wrapped), default=1)
    return finish(fig, preset, height_in=bars_height_in(len(rows), lines))
