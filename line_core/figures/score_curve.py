"""Score curve: every concept's AUC per iteration with its bootstrap interval."""

from __future__ import annotations

import plotly.graph_objects as go

from line_core.figures.common import finish, top_legend
from line_core.figures.data import score_curve_data
from line_core.figures.style import (
    GREY,
    LIGHT_GREY,
    SOURCE_SYMBOLS,
    Preset,
    source_colour,
    source_edge,
)
from line_core.record.history import RunHistory

SOURCE_ORDER = ("seed", "random-class", "random-atlas", "control-class", "atlas", "llm",
                "lexicon", "user", "probe", "summary")


def score_curve(history: RunHistory, preset: str | Preset | None = "single") -> go.Figure:
    """AUC of each concept per iteration, with the best-so-far line and the chance baseline.

    Error bars are bootstrap intervals, colour and symbol give the source, and the grey band is
    the mean ± sd AUC of seed-vocabulary (random) concepts.
    """
    data = score_curve_data(history)
    fig = go.Figure()
    iterations = [p.iteration for p in data.points] or [0]
    x_lo, x_hi = min(iterations) - 0.5, max(iterations) + 0.5
    if data.baseline is not None:
        mean, sd = data.baseline
        fig.add_trace(
            go.Scatter(
                x=[x_lo, x_hi, x_hi, x_lo, x_lo],
                y=[mean - sd, mean - sd, mean + sd, mean + sd, mean - sd],
                fill="toself",
                fillcolor=LIGHT_GREY,
                line={"width": 0},
                mode="lines",
                name="random",
                hoverinfo="skip",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=[x_lo, x_hi],
                y=[mean, mean],
                mode="lines",
                showlegend=False,
                line={"color": GREY, "width": 1, "dash": "dash"},
                hoverinfo="skip",
            )
        )
    present = {p.source for p in data.points}
    ordered = [s for s in SOURCE_ORDER if s in present] + sorted(present - set(SOURCE_ORDER))
    for source in ordered:
        pts = [p for p in data.points if p.source == source]
        fig.add_trace(
            go.Scatter(
                x=[p.x for p in pts],
                y=[p.auc for p in pts],
                mode="markers",
                name=source,
                marker={
                    "color": source_colour(source),
                    "symbol": SOURCE_SYMBOLS.get(source, "circle"),
                    "size": (7 if source in ("user", "summary") else 5) * (1 if preset else 1.6),
                    "line": {"width": 0.5, "color": source_edge(source)},
                },
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": [max(p.high - p.auc, 0.0) for p in pts],
                    "arrayminus": [max(p.auc - p.low, 0.0) for p in pts],
                    "thickness": 0.8,
                    "width": 0,
                    "color": source_colour(source) if source_edge(source) == "#FFFFFF"
                    else source_edge(source),
                },
                customdata=[[p.concept, p.low, p.high, p.iteration] for p in pts],
                hovertemplate="%{customdata[0]}<br>iteration %{customdata[3]}<br>"
                "AUC %{y:.3f} [%{customdata[1]:.2f}, %{customdata[2]:.2f}]<extra></extra>",
            )
        )
    if data.best:
        xs = [i for i, _ in data.best] + [data.best[-1][0] + 0.5]
        ys = [v for _, v in data.best] + [data.best[-1][1]]
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                name="best so far",
                line_shape="hv",
                line={"color": "#000000", "width": 1.3},
                hoverinfo="skip",
            )
        )
    ticks = sorted(set(iterations))
    labels = ["S" if t == data.summary_iteration else str(t) for t in ticks]
    every = max(1, len(ticks) // 12 + (len(ticks) % 12 > 0))
    fig.update_xaxes(
        title_text="Iteration (S = summary)" if data.summary_iteration is not None else "Iteration",
        tickvals=ticks[::every],
        ticktext=labels[::every],
        range=[x_lo, x_hi],
        showgrid=False,
    )
    lows = [p.low for p in data.points] + (
        [data.baseline[0] - data.baseline[1]] if data.baseline else []
    )
    y_lo = max(0.0, min(lows, default=0.0) - 0.05)
    fig.update_yaxes(
        title_text="AUC", range=[y_lo, 1.02], tickformat=".1f", showgrid=True, gridcolor="#EEEEEE"
    )
    top_legend(fig, preset)
    return finish(fig, preset, height_in=2.6)
