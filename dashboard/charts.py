"""Interactive plotly charts of the dashboard (paper figures live in ``line_core.figures``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from dashboard.theme import (
    BASELINE_COLOUR,
    BEST_COLOUR,
    CONTROL_COLOUR,
    chart_layout,
    source_colour,
    source_label,
)
from line_core.concepts import source_kind
from line_core.figures.style import source_edge
from line_core.record import Baseline, ScoredRecord


def _short(text: str, width: int = 28) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def activation_chart(records: Sequence[ScoredRecord], control: Sequence[float]) -> go.Figure:
    """The pool's concepts: mean ± SD of the unit's activation on their images, beside control.

    Dots show every image; the grey band is the control mean ± SD.
    """
    rows = sorted(records, key=lambda r: float(np.mean(r.activations or [0.0])))
    control_values = np.asarray(control, dtype=float)
    fig = go.Figure()
    names = ["control"] + [_short(r.concept) for r in rows]
    if control_values.size:
        c_mean, c_sd = float(control_values.mean()), float(control_values.std(ddof=0))
        fig.add_vrect(
            x0=c_mean - c_sd, x1=c_mean + c_sd, fillcolor=CONTROL_COLOUR, opacity=0.15,
            line_width=0, layer="below",
        )
        fig.add_trace(
            go.Bar(
                y=["control"], x=[c_mean], orientation="h", marker_color=CONTROL_COLOUR,
                error_x={"type": "data", "array": [c_sd], "color": "#555"},
                name=f"control ({control_values.size} images)",
                hovertemplate="control: mean %{x:.3f}<extra></extra>",
            )
        )
    seen: set[str] = set()
    for record in rows:
        acts = np.asarray(record.activations or [0.0], dtype=float)
        label = source_label(record.source)
        fig.add_trace(
            go.Bar(
                y=[_short(record.concept)], x=[float(acts.mean())], orientation="h",
                marker_color=source_colour(record.source), opacity=0.85,
                marker_line={"width": 0.6, "color": "#333333"},
                error_x={"type": "data", "array": [float(acts.std(ddof=0))], "color": "#333"},
                name=label, legendgroup=label, showlegend=label not in seen,
                customdata=[[record.concept, record.auc, len(acts)]],
                hovertemplate="%{customdata[0]}<br>mean activation %{x:.3f}"
                "<br>AUC %{customdata[1]:.3f} · %{customdata[2]} images<extra></extra>",
            )
        )
        seen.add(label)
        fig.add_trace(
            go.Scatter(
                y=[_short(record.concept)] * len(acts), x=acts, mode="markers",
                marker={"size": 5, "color": "#222", "opacity": 0.55}, showlegend=False,
                hovertemplate="image activation %{x:.3f}<extra></extra>",
            )
        )
    fig.update_layout(
        **chart_layout(height=max(220, 50 + 26 * len(names)), barmode="overlay"),
        xaxis_title="activation (mean ± SD; dots: images)",
        yaxis={"categoryorder": "array", "categoryarray": names, "automargin": True},
    )
    return fig


def score_curve(
    records: Sequence[ScoredRecord],
    best_so_far: Sequence[tuple[int, float]],
    baseline: Baseline | None = None,
) -> go.Figure:
    """Each concept's AUC (with its bootstrap interval) per iteration, plus best-so-far."""
    fig = go.Figure()
    if baseline is not None:
        fig.add_hrect(
            y0=baseline.low, y1=baseline.high, fillcolor=BASELINE_COLOUR, opacity=0.12,
            line_width=0, layer="below",
        )
        fig.add_hline(
            y=baseline.mean, line_dash="dash", line_color=BASELINE_COLOUR,
            annotation_text=f"random-concept baseline {baseline.mean:.2f}",
            annotation_position="bottom right", annotation_font_size=11,
        )
    by_source: dict[str, list[ScoredRecord]] = {}
    for record in records:
        by_source.setdefault(source_label(record.source), []).append(record)
    rng = np.random.default_rng(0)
    for label, group in by_source.items():
        xs = [
            r.iteration + (float(rng.uniform(-0.25, 0.25)) if r.iteration == 0 else 0.0)
            for r in group
        ]
        fig.add_trace(
            go.Scatter(
                x=xs, y=[r.auc for r in group], mode="markers", name=label,
                marker={"size": 8, "color": source_colour(group[0].source), "opacity": 0.85,
                        "line": {"width": 0.6,
                                 "color": source_edge(source_kind(group[0].source))}},
                error_y={
                    "type": "data", "symmetric": False, "thickness": 1, "width": 0,
                    "array": [max(r.auc_high - r.auc, 0) for r in group],
                    "arrayminus": [max(r.auc - r.auc_low, 0) for r in group],
                },
                customdata=[[r.concept, r.auc_low, r.auc_high, r.mad] for r in group],
                hovertemplate="%{customdata[0]}<br>AUC %{y:.3f} "
                "[%{customdata[1]:.2f}, %{customdata[2]:.2f}]<br>MAD %{customdata[3]:.2f}"
                "<extra></extra>",
            )
        )
    if best_so_far:
        its, best = zip(*best_so_far, strict=True)
        fig.add_trace(
            go.Scatter(
                x=list(its), y=list(best), mode="lines+markers", name="best so far",
                line={"color": BEST_COLOUR, "width": 2.5, "shape": "hv"},
                marker={"size": 6, "color": BEST_COLOUR},
                hovertemplate="iteration %{x}: best %{y:.3f}<extra></extra>",
            )
        )
    fig.update_layout(
        **chart_layout(height=360),
        xaxis={"title": "iteration", "dtick": iteration_step(max(
            (r.iteration for r in records), default=1)), "rangemode": "tozero"},
        yaxis={"title": "AUC vs control (90% bootstrap CI)", "range": [0, 1.04]},
    )
    return fig


def iteration_step(last: int, ticks: int = 12) -> int:
    """An integer tick step keeping about ``ticks`` labels on an iteration axis (1, 2, 5…)."""
    for step in (1, 2, 5, 10, 20, 50, 100, 200, 500):
        if last / step <= ticks:
            return step
    return 1000


def compare_curves(
    curves: Sequence[Sequence[tuple[int, float]]], names: Sequence[str]
) -> go.Figure:
    """Best-so-far AUC of several runs on one axis."""
    fig = go.Figure()
    colours = ["#0072B2", "#E69F00", "#009E73", "#CC79A7"]
    for index, (curve, name) in enumerate(zip(curves, names, strict=True)):
        if not curve:
            continue
        its, best = zip(*curve, strict=True)
        fig.add_trace(
            go.Scatter(
                x=list(its), y=list(best), mode="lines+markers", name=name,
                line={"color": colours[index % len(colours)], "width": 2.5, "shape": "hv"},
            )
        )
    fig.update_layout(
        **chart_layout(height=320),
        xaxis={"title": "iteration", "dtick": 1},
        yaxis={"title": "AUC", "range": [0, 1.04]},
    )
    return fig


