"""Polysemanticity map: every tried concept on a 2-D semantic map, coloured by score."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from scipy.spatial import ConvexHull, QhullError

from line_core.analysis.embedding import Embedder
from line_core.analysis.polysemanticity import (
    ConceptGroup,
    MapPoint,
    PolysemanticityReport,
    polysemanticity,
)
from line_core.figures.label_layout import PlacedLabel, numbered_key, place_labels, wrap_text
from line_core.figures.style import (
    FONT_FAMILY,
    PALETTE,
    PX_PER_IN,
    SCORE_SCALE,
    Preset,
    apply_paper_style,
    get_preset,
)
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


@dataclass(frozen=True)
class PolyMapLayout:
    """Geometry of a poly map shared by both backends: sizes in inches, labels placed.

    The plot area is ``plot_in`` (left, bottom, width, height) inside a ``size_in`` figure;
    ``labels`` are placed in points from their point (:func:`place_labels`); ``caption`` are
    the lines under the plot (verdict, formula, one line per group, the numbered key);
    ``hulls`` the closed outline of each group with two or more points, by group index.
    """

    size_in: tuple[float, float]
    plot_in: tuple[float, float, float, float]
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    labels: list[PlacedLabel]
    labelled: list[MapPoint]
    caption: list[str]
    font_pt: float
    line_in: float
    hulls: dict[int, np.ndarray]


#: Figure sizes (inches) and fonts (points) on screen, where no preset applies.
_SCREEN_WIDTH_IN, _SCREEN_SMALL_PT = 700 / 96, 11 * 0.75
_MARGIN_IN = {"left": 0.22, "right": 0.62, "top": 0.26, "gap": 0.08}


def group_legend(index: int) -> str:
    """A group's legend entry (its term and evidence are in the caption under the plot)."""
    return f"G{index}"


def group_caption(group: ConceptGroup) -> str:
    """One caption line per group: its formula term, best concept, AUC and strength."""
    term = group.term or group.best_concept
    return (f"G{group.index} = {term}: best '{group.best_concept}', "
            f"AUC {group.best_auc:.2f}, strength {group.strength:.2f}")


def caption_parts(report: PolysemanticityReport) -> list[str]:
    """The caption's entries before wrapping: verdict with formula, then one per group."""
    verdict = report.verdict or "tried concepts on a semantic map"
    formula = f"; formula: {report.formula}" if report.formula else ""
    return [f"{verdict}{formula}.", *(group_caption(g) for g in report.groups)]


def poly_map_layout(report: PolysemanticityReport, preset: str | Preset | None) -> PolyMapLayout:
    """Place the plot, the labels (no overlap, numbers where names do not fit) and caption."""
    if preset is None:
        width_in, small_pt, plot_h = _SCREEN_WIDTH_IN, _SCREEN_SMALL_PT, 3.6
    else:
        p = get_preset(preset)
        width_in, small_pt = p.width_in, p.small_pt
        plot_h = 2.2 if p.name != "double" else 2.8
    m = _MARGIN_IN
    plot_w = width_in - m["left"] - m["right"]
    points = report.points
    xy = np.array([[pt.x, pt.y] for pt in points]) if points else np.zeros((0, 2))
    span = float(np.ptp(xy, axis=0).max()) if len(xy) else 1.0
    pad = 0.12 * (span or 1.0)
    if len(xy):
        xlim = (float(xy[:, 0].min() - pad), float(xy[:, 0].max() + pad))
        ylim = (float(xy[:, 1].min() - pad), float(xy[:, 1].max() + pad))
    else:
        xlim = ylim = (-1.0, 1.0)

    def to_pt(pt: MapPoint) -> tuple[float, float]:
        fx = (pt.x - xlim[0]) / ((xlim[1] - xlim[0]) or 1.0)
        fy = (pt.y - ylim[0]) / ((ylim[1] - ylim[0]) or 1.0)
        return fx * plot_w * 72, fy * plot_h * 72

    by_group = {g.index: g for g in report.groups}
    labelled = sorted(
        (pt for pt in points if pt.group is not None),
        key=lambda pt: (pt.group, pt.concept != by_group[pt.group].best_concept, -pt.auc),
    )
    others = [to_pt(pt) for pt in points if pt.group is None]
    labels = place_labels([to_pt(pt) for pt in labelled], [pt.concept for pt in labelled],
                          (plot_w * 72, plot_h * 72), small_pt, marker_pt=7.0,
                          obstacles_pt=others)
    key = numbered_key(labels, [pt.concept for pt in labelled])
    caption = [line for part in caption_parts(report)
               for line in wrap_text([part], width_in * 72 - 8, small_pt)]
    if key:
        caption += wrap_text(["Numbers:", *key], width_in * 72 - 8, small_pt)
    line_in = small_pt * 1.3 / 72
    bottom = m["gap"] + len(caption) * line_in + 0.06
    height_in = bottom + plot_h + m["top"]
    hulls = {}
    for group in report.groups:
        members = np.array([[pt.x, pt.y] for pt in points if pt.group == group.index])
        ring = hull_outline(members, pad=0.05 * (span or 1.0))
        if ring is not None:
            hulls[group.index] = ring
    return PolyMapLayout((width_in, height_in), (m["left"], bottom, plot_w, plot_h), xlim, ylim,
                         labels, labelled, caption, small_pt, line_in, hulls)


def poly_map(
    history: RunHistory,
    preset: str | Preset | None = "single",
    report: PolysemanticityReport | None = None,
    embedder: Embedder | None = None,
    control: Sequence[float] | None = None,
) -> go.Figure:
    """All tried concepts on a 2-D semantic map (PCA of MiniLM), coloured by AUC.

    Concepts that drive a group are outlined in their group's colour, enclosed in a hull per
    group (the groups of :func:`line_core.analysis.polysemanticity`) and labelled where the
    label fits without overlap (else numbered, with a key); the caption under the plot gives
    the verdict, the formula and each group's evidence.
    """
    report = report or polysemanticity(history, embedder=embedder, control=control)
    return poly_map_figure(report, preset)


def poly_map_figure(report: PolysemanticityReport, preset: str | Preset | None) -> go.Figure:
    """The map of an analysed run (:func:`poly_map` without the analysis); screen if no preset."""
    layout = poly_map_layout(report, preset)
    small = layout.font_pt * PX_PER_IN / 72
    points = report.points
    fig = go.Figure()
    for index, ring in layout.hulls.items():
        fig.add_trace(
            go.Scatter(
                x=ring[:, 0],
                y=ring[:, 1],
                mode="lines",
                fill="toself",
                line={"color": group_colour(index), "width": 1},
                opacity=0.25,
                showlegend=False,
                hoverinfo="skip",
            )
        )
    low = [p for p in points if p.group is None]
    fig.add_trace(_points(low, "other concepts", "#7F7F7F", small, labelled=False))
    fig.data[-1].showlegend = False
    for group in report.groups:
        members_pts = [p for p in points if p.group == group.index]
        fig.add_trace(_points(members_pts, group_legend(group.index), group_colour(group.index),
                              small, labelled=True))
    _plotly_labels(fig, layout, small)
    _plotly_frame(fig, layout, small, preset)
    return fig


def _plotly_labels(fig: go.Figure, layout: PolyMapLayout, small: float) -> None:
    """The placed labels as annotations shifted in pixels from their points."""
    px = PX_PER_IN / 72
    for label in layout.labels:
        pt = layout.labelled[label.index]
        if label.leader:  # plotly's arrow tail is the text's anchor, offsets y-down
            fig.add_annotation(
                x=pt.x, y=pt.y, text=label.text, showarrow=True, arrowhead=0, arrowwidth=0.6,
                arrowcolor="#555555", standoff=4, ax=label.dx_pt * px, ay=-label.dy_pt * px,
                xanchor=label.ha, yanchor=label.va, font={"size": small}, borderpad=0,
            )
            continue
        fig.add_annotation(
            x=pt.x, y=pt.y, text=label.text, showarrow=False, font={"size": small},
            xanchor=label.ha, yanchor=label.va, xshift=label.dx_pt * px,
            yshift=label.dy_pt * px, borderpad=0,
        )


def _plotly_frame(fig: go.Figure, layout: PolyMapLayout, small: float, preset: object) -> None:
    """Fixed figure and plot sizes (no automargin), caption lines under the plot."""
    width_in, height_in = layout.size_in
    left, bottom, plot_w, plot_h = layout.plot_in
    px = PX_PER_IN
    margin = {"l": round(left * px), "r": round((width_in - left - plot_w) * px),
              "b": round(bottom * px), "t": round((height_in - bottom - plot_h) * px),
              "autoexpand": False}
    for i, line in enumerate(layout.caption):
        fig.add_annotation(
            x=-left / plot_w + 0.01, xref="paper", xanchor="left",
            y=-(_MARGIN_IN["gap"] + i * layout.line_in) / plot_h, yref="paper", yanchor="top",
            text=line, showarrow=False, align="left", font={"size": small},
        )
    axis = {"showticklabels": False, "ticks": "", "zeroline": False, "automargin": False,
            "showline": True, "linewidth": 0.8, "mirror": False}
    fig.update_xaxes(range=list(layout.xlim), title_text=None, **axis)
    fig.update_yaxes(range=list(layout.ylim), title_text="semantic axis 2",
                     title_font={"size": small}, title_standoff=2, **axis)
    if preset is not None:
        apply_paper_style(fig, preset, height_in)
    else:
        fig.update_layout(template="simple_white", height=round(height_in * px),
                          font={"family": FONT_FAMILY, "size": 13})
    fig.update_layout(
        width=round(width_in * px), margin=margin,
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "left", "x": 0.0,
                "font": {"size": small}, "bgcolor": "rgba(0,0,0,0)"},
    )
    fig.update_xaxes(automargin=False)
    fig.update_yaxes(automargin=False)


def _points(
    pts: list[MapPoint], name: str, outline: str, small: float, labelled: bool
) -> go.Scatter:
    return go.Scatter(
        x=[p.x for p in pts],
        y=[p.y for p in pts],
        mode="markers",
        name=name,
        marker={
            "color": [p.auc for p in pts],
            "colorscale": SCORE_SCALE,
            "cmin": 0.5,
            "cmax": 1.0,
            "size": 7 if labelled else 5,
            "line": {"color": outline, "width": 1.6 if labelled else 0.3},
            "showscale": not labelled,
            "colorbar": {
                "title": {"text": "AUC", "side": "right", "font": {"size": small}},
                "thickness": 7,
                "len": 0.75,
                "x": 1.02,
                "xanchor": "left",
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
