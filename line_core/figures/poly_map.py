"""Polysemanticity map: every tried concept on a 2-D semantic map, coloured by score."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from scipy.spatial import ConvexHull, QhullError

from line_core.analysis.embedding import Embedder
from line_core.analysis.polysemanticity import MapPoint, PolysemanticityReport, polysemanticity
from line_core.figures.common import finish, font_sizes, top_legend
from line_core.figures.style import PALETTE, SCORE_SCALE, Preset
from line_core.record.history import RunHistory


def group_colour(index: int) -> str:
    """The colour of group ``index`` (1-based)."""
    return PALETTE[(index - 1) % len(PALETTE)]


def hull_outline(xy: np.ndarray, pad: float) -> np.ndarray | None:
    """A closed outline around points (convex hull pushed out by ``pad``); None for < 2 points."""
    if len(xy) < 2:
        return None
    centre = xy.mean(axis=0)
    try:
        corners = xy[ConvexHull(xy).vertices] if len(xy) >= 3 else xy
    except QhullError:  # collinear points
        corners = xy
    if len(corners) == 2:  # a capsule around a segment
        a, b = corners
        direction = (b - a) / (np.linalg.norm(b - a) or 1.0)
        normal = np.array([-direction[1], direction[0]])
        angles = np.linspace(0, np.pi, 8)
        cap_b = [b + pad * (np.cos(t) * normal + np.sin(t) * direction) for t in angles]
        cap_a = [a - pad * (np.cos(t) * normal + np.sin(t) * direction) for t in angles]
        ring = np.array(cap_b + cap_a)
    else:
        offsets = corners - centre
        norms = np.linalg.norm(offsets, axis=1, keepdims=True)
        ring = corners + pad * offsets / np.where(norms > 0, norms, 1.0)
    return np.vstack([ring, ring[:1]])


def group_legend(index: int, term: str, auc: float, strength: float) -> str:
    """A group's legend entry: its formula term, best AUC and strength."""
    return f"G{index} {_label(term, 28)} (AUC {auc:.2f}, strength {strength:.2f})"


def verdict_line(report: PolysemanticityReport) -> str:
    """The verdict and the formula, one line under the map (the map's axes carry no meaning)."""
    formula = f"; formula: {report.formula}" if report.formula else ""
    return f"{report.verdict}{formula}" if report.verdict else "semantic axis 1"


def _label(text: str, width: int = 16) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def poly_map(
    history: RunHistory,
    preset: str | Preset | None = "single",
    report: PolysemanticityReport | None = None,
    embedder: Embedder | None = None,
    control: Sequence[float] | None = None,
) -> go.Figure:
    """All tried concepts on a 2-D semantic map (PCA of MiniLM), coloured by AUC.

    Concepts that drive a group are labelled, outlined in their group's colour and enclosed in
    a hull per group (the groups of :func:`line_core.analysis.polysemanticity`); the legend
    names each group's formula term, the x-axis title carries the verdict and the formula.
    """
    report = report or polysemanticity(history, embedder=embedder, control=control)
    _, small = font_sizes(preset)
    points = report.points
    xy = np.array([[p.x, p.y] for p in points]) if points else np.zeros((0, 2))
    span = float(np.ptp(xy, axis=0).max()) if len(xy) else 1.0
    fig = go.Figure()
    for group in report.groups:
        members = np.array([[p.x, p.y] for p in points if p.group == group.index])
        ring = hull_outline(members, pad=0.05 * (span or 1.0))
        if ring is not None:
            fig.add_trace(
                go.Scatter(
                    x=ring[:, 0],
                    y=ring[:, 1],
                    mode="lines",
                    fill="toself",
                    line={"color": group_colour(group.index), "width": 1},
                    opacity=0.25,
                    showlegend=False,
                    hoverinfo="skip",
                )
            )
    low = [p for p in points if p.group is None]
    fig.add_trace(_points(low, "other concepts", "#7F7F7F", small, text=False, preset=preset))
    fig.data[-1].showlegend = False
    for group in report.groups:
        members_pts = [p for p in points if p.group == group.index]
        name = group_legend(group.index, group.term, group.best_auc, group.strength)
        fig.add_trace(_points(members_pts, name, group_colour(group.index), small, True, preset))
    fig.update_xaxes(title_text=verdict_line(report), showticklabels=False, ticks="",
                     zeroline=False)
    fig.update_yaxes(title_text="semantic axis 2", showticklabels=False, ticks="", zeroline=False)
    if len(xy):
        pad = 0.12 * (span or 1.0)
        fig.update_xaxes(range=[xy[:, 0].min() - pad, xy[:, 0].max() + pad])
        fig.update_yaxes(range=[xy[:, 1].min() - pad, xy[:, 1].max() + pad])
    top_legend(fig, preset, side_px=90)
    return finish(fig, preset, height_in=3.0, screen_height=480)


def _points(
    pts: list[MapPoint], name: str, outline: str, small: float, text: bool, preset: object
) -> go.Scatter:
    scale = 1.0 if preset is not None else 1.6
    return go.Scatter(
        x=[p.x for p in pts],
        y=[p.y for p in pts],
        mode="markers+text" if text else "markers",
        name=name,
        text=[_label(p.concept) for p in pts] if text else None,
        textposition="top center",
        textfont={"size": small},
        marker={
            "color": [p.auc for p in pts],
            "colorscale": SCORE_SCALE,
            "cmin": 0.5,
            "cmax": 1.0,
            "size": (7 if text else 5) * scale,
            "line": {"color": outline, "width": 1.6 if text else 0.3},
            "showscale": not text,
            "colorbar": {
                "title": {"text": "AUC", "side": "right", "font": {"size": small}},
                "thickness": 7,
                "len": 0.75,
                "tickfont": {"size": small},
                "tickvals": [0.5, 0.6, 0.7, 0.8, 0.9, 1.0],
                "tickformat": ".1f",
                "outlinewidth": 0,
            },
        },
        customdata=[[p.concept, p.source] for p in pts],
        hovertemplate="%{customdata[0]} (%{customdata[1]})<br>AUC %{marker.color:.3f}"
        "<extra></extra>",
    )
