"""Matplotlib versions of the figures: the browser-free fallback for PDF/SVG/PNG export.

They draw the same content as the plotly builders from the same data helpers, at the same
paper sizes. Figures are ``matplotlib.figure.Figure`` objects (no pyplot state, no GUI).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Polygon, Rectangle

from line_core.analysis.polysemanticity import PolysemanticityReport
from line_core.figures.activation_bars import bars_height_in
from line_core.figures.data import pool_rows, score_curve_data, thumbnail, wrap_label
from line_core.figures.image_grid import prepare_grid
from line_core.figures.layer_table import FIGURE_ALIGN, LayerRow, table_grid
from line_core.figures.poly_map import group_colour, group_legend, poly_map_layout
from line_core.figures.score_curve import SOURCE_ORDER
from line_core.figures.style import (
    GREY,
    LIGHT_GREY,
    MPL_FONTS,
    Preset,
    get_preset,
    source_colour,
    source_edge,
)
from line_core.record.history import RunHistory

MPL_MARKERS = {
    "llm": "o",
    "lexicon": "D",
    "user": "*",
    "seed": "s",
    "random-class": "s",
    "random-atlas": "s",
    "atlas": "^",
    "probe": "P",
    "control-class": "^",
    "summary": "X",
}


def _figure(preset: str | Preset, height_in: float) -> tuple[Figure, Preset]:
    p = get_preset(preset)
    fig = Figure(figsize=(p.width_in, height_in), dpi=100, facecolor="white")
    FigureCanvasAgg(fig)  # a canvas that can measure text
    return fig, p


def _style_axes(ax: Axes, p: Preset) -> None:
    ax.tick_params(labelsize=p.small_pt, width=0.6, length=2.5)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_linewidth(0.6)
    ax.xaxis.label.set_size(p.font_pt)
    ax.yaxis.label.set_size(p.font_pt)


def _top_legend(fig: Figure, ax: Axes, p: Preset, height_in: float, bottom_in: float) -> None:
    """A legend above the axes in as many columns as fit; the axes take the space below it."""
    handles, labels = ax.get_legend_handles_labels()
    width_pt = p.width_in * 72 * 0.85
    entry = max((0.56 * p.small_pt * len(label) + 24 for label in labels), default=60)
    columns = max(1, min(len(labels) or 1, int(width_pt // entry)))
    rows = -(-len(labels) // columns) if labels else 0
    if labels:
        fig.legend(
            handles,
            labels,
            loc="upper left",
            bbox_to_anchor=(0.01, 0.995),
            ncol=columns,
            fontsize=p.small_pt,
            handlelength=1.2,
            columnspacing=0.8,
            handletextpad=0.4,
            borderaxespad=0,
            labelspacing=0.3,
        )
    legend_in = rows * p.small_pt * 1.5 / 72 + 0.12
    box = ax.get_position()
    top = 1.0 - legend_in / height_in
    ax.set_position((box.x0, bottom_in / height_in, box.width, top - bottom_in / height_in))


def rc_params(preset: str | Preset) -> dict[str, object]:
    """Matplotlib rc settings for a preset (fonts embedded as TrueType in PDF, text in SVG)."""
    p = get_preset(preset)
    return {
        "font.family": "sans-serif",
        "font.sans-serif": MPL_FONTS,
        "font.size": p.font_pt,
        "pdf.fonttype": 42,
        "svg.fonttype": "none",
        "axes.linewidth": 0.6,
        "legend.frameon": False,
    }


def score_curve_mpl(history: RunHistory, preset: str | Preset = "single") -> Figure:
    """Matplotlib twin of :func:`line_core.figures.score_curve`."""
    data = score_curve_data(history)
    fig, p = _figure(preset, 2.6)
    ax = fig.add_axes((0.14, 0.16, 0.83, 0.62))
    iterations = [pt.iteration for pt in data.points] or [0]
    x_lo, x_hi = min(iterations) - 0.5, max(iterations) + 0.5
    if data.baseline is not None:
        mean, sd = data.baseline
        ax.axhspan(mean - sd, mean + sd, color=LIGHT_GREY, lw=0, label="random")
        ax.axhline(mean, color=GREY, lw=0.8, ls="--")
    present = {pt.source for pt in data.points}
    for source in [s for s in SOURCE_ORDER if s in present] + sorted(present - set(SOURCE_ORDER)):
        pts = [pt for pt in data.points if pt.source == source]
        edge = source_edge(source)
        yerr = np.array(
            [[max(pt.auc - pt.low, 0) for pt in pts], [max(pt.high - pt.auc, 0) for pt in pts]]
        )
        ax.errorbar(
            [pt.x for pt in pts],
            [pt.auc for pt in pts],
            yerr=yerr,
            fmt=MPL_MARKERS.get(source, "o"),
            color=source_colour(source),
            ecolor=source_colour(source) if edge == "#FFFFFF" else edge,
            ms=5.0 if MPL_MARKERS.get(source) == "*" else 3.2,
            elinewidth=0.7,
            capsize=0,
            label=source,
            mec=edge,
            mew=0.4,
        )
    if data.best:
        xs = [i for i, _ in data.best] + [data.best[-1][0] + 0.5]
        ys = [v for _, v in data.best] + [data.best[-1][1]]
        ax.step(xs, ys, where="post", color="black", lw=1.1, label="best so far")
    ticks = sorted(set(iterations))
    every = max(1, -(-len(ticks) // 12))
    ax.set_xticks(ticks[::every])
    ax.set_xticklabels(["S" if t == data.summary_iteration else str(t) for t in ticks][::every])
    ax.set_xlim(x_lo, x_hi)
    lows = [pt.low for pt in data.points] + (
        [data.baseline[0] - data.baseline[1]] if data.baseline else []
    )
    ax.set_ylim(max(0.0, min(lows, default=0.0) - 0.05), 1.02)
    ax.set_xlabel("Iteration (S = summary)" if data.summary_iteration is not None else "Iteration")
    ax.set_ylabel("AUC")
    ax.grid(axis="y", color="#EEEEEE", lw=0.5)
    ax.set_axisbelow(True)
    _style_axes(ax, p)
    _top_legend(fig, ax, p, 2.6, bottom_in=0.42)
    return fig


def activation_bars_mpl(
    history: RunHistory,
    control: Sequence[float] | None = None,
    preset: str | Preset = "single",
    limit: int = 10,
) -> Figure:
    """Matplotlib twin of :func:`line_core.figures.activation_bars`."""
    rows = pool_rows(history, control, limit=limit)
    wrapped = ["\n".join(wrap_label(r.label, 24)) for r in rows]
    height = bars_height_in(len(rows), max((w.count("\n") + 1 for w in wrapped), default=1))
    fig, p = _figure(preset, height)
    top = 1.0 - 0.42 / height
    ax = fig.add_axes((0.36, 0.32 / height, 0.6, top - 0.32 / height))
    y = np.arange(len(rows))[::-1]
    seen: set[str] = set()
    for yi, row in zip(y, rows, strict=True):
        colour = GREY if row.source == "control" else source_colour(row.source)
        name = "control set" if row.source == "control" else row.source
        ax.barh(
            yi,
            row.mean,
            xerr=row.spread,
            color=colour,
            alpha=0.85,
            height=0.65,
            edgecolor="#333333",
            linewidth=0.4,
            error_kw={"elinewidth": 0.8, "capsize": 1.5, "capthick": 0.8},
            label=None if name in seen or row.source == "control" else name,
        )
        seen.add(name)
        values = (
            row.values if len(row.values) <= 60 else np.quantile(row.values, np.linspace(0, 1, 60))
        )
        ax.plot(values, [yi] * len(values), "o", color="black", ms=1.3, alpha=0.6, mew=0)
    if control is not None and len(control) > 0:
        ax.axvline(float(np.mean(control)), color="#444444", lw=0.8, ls="--")
    ax.set_yticks(y)
    ax.set_yticklabels(wrapped, fontsize=p.small_pt)
    ax.set_xlabel("Activation")
    ax.grid(axis="x", color="#EEEEEE", lw=0.5)
    ax.set_axisbelow(True)
    _style_axes(ax, p)
    _top_legend(fig, ax, p, height, bottom_in=0.36)
    return fig


def image_grid_mpl(
    history: RunHistory,
    run_dir: Path | str,
    preset: str | Preset = "single",
    n_concepts: int | None = None,
    n_images: int = 5,
    groups: Sequence[Sequence[str]] = (),
) -> Figure:
    """Matplotlib twin of :func:`line_core.figures.image_grid` (same layout in inches)."""
    rows, panels, width, height = prepare_grid(history, run_dir, preset, n_concepts, n_images,
                                               groups)
    fig, p = _figure(preset, height)
    renderer = fig.canvas.get_renderer()
    for row, panel in zip(rows, panels, strict=True):
        y_text = 1.0 - (panel.top + 0.01) / height
        name = fig.text(
            panel.left / width,
            y_text,
            row.title,
            fontsize=p.font_pt,
            weight="bold",
            va="top",
            ha="left",
        )
        right = name.get_window_extent(renderer).x1 / fig.bbox.width
        fig.text(right + 0.08 / width, y_text, f"AUC {row.auc:.2f}", fontsize=p.font_pt, va="top")
        for cell, box in zip(row.cells, panel.cells, strict=False):
            pad = 0.03 * box.size
            bottom = height - box.top - box.size
            ax = fig.add_axes(
                (
                    (box.left + pad) / width,
                    (bottom + pad) / height,
                    (box.size - 2 * pad) / width,
                    (box.size - 2 * pad) / height,
                )
            )
            ax.imshow(np.asarray(thumbnail(cell.path)), interpolation="nearest")
            ax.set_axis_off()
            fig.text(
                (box.left + box.size / 2) / width,
                (bottom - 0.005) / height,
                f"{cell.activation:.2f}",
                fontsize=p.small_pt,
                ha="center",
                va="top",
            )
    return fig


def poly_map_mpl(report: PolysemanticityReport, preset: str | Preset = "single") -> Figure:
    """Matplotlib twin of :func:`line_core.figures.poly_map` (the same layout, in inches)."""
    layout = poly_map_layout(report, preset)
    width_in, height_in = layout.size_in
    left, bottom, plot_w, plot_h = layout.plot_in
    fig, p = _figure(preset, height_in)
    ax = fig.add_axes((left / width_in, bottom / height_in, plot_w / width_in,
                       plot_h / height_in))
    points = report.points
    for index, ring in layout.hulls.items():
        colour = group_colour(index)
        ax.add_patch(Polygon(ring, closed=True, fc=colour, ec=colour, alpha=0.25, lw=1))
    low = [pt for pt in points if pt.group is None]
    style = {"cmap": "cividis", "vmin": 0.5, "vmax": 1.0}
    mappable = ax.scatter([pt.x for pt in low], [pt.y for pt in low], c=[pt.auc for pt in low],
                          s=10, lw=0.3, ec="#7F7F7F", label="_nolegend_", **style)
    for group in report.groups:
        pts = [pt for pt in points if pt.group == group.index]
        mappable = ax.scatter([pt.x for pt in pts], [pt.y for pt in pts],
                              c=[pt.auc for pt in pts], s=22, lw=1.2,
                              ec=group_colour(group.index), label=group_legend(group.index),
                              **style)
    for label in layout.labels:
        pt = layout.labelled[label.index]
        leader = {"arrowstyle": "-", "lw": 0.5, "color": "#555555", "shrinkA": 0,
                  "shrinkB": 4} if label.leader else None
        ax.annotate(label.text, (pt.x, pt.y), xytext=(label.dx_pt, label.dy_pt),
                    textcoords="offset points", ha=label.ha,
                    va="center" if label.va == "middle" else label.va, fontsize=layout.font_pt,
                    arrowprops=leader)
    ax.set_xlim(*layout.xlim)
    ax.set_ylim(*layout.ylim)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_ylabel("semantic axis 2", fontsize=p.small_pt, labelpad=2)
    _style_axes(ax, p)
    if report.groups:
        anchor = (left / width_in, (bottom + plot_h) / height_in)
        fig.legend(loc="lower left", bbox_to_anchor=anchor,
                   ncol=len(report.groups), fontsize=p.small_pt, handletextpad=0.3,
                   columnspacing=1.0, borderaxespad=0.1)
    for i, line in enumerate(layout.caption):
        fig.text(0.06 / width_in, (bottom - 0.08 - i * layout.line_in) / height_in, line,
                 fontsize=layout.font_pt, va="top", ha="left")
    cax = fig.add_axes(((left + plot_w + 0.06) / width_in, (bottom + 0.125 * plot_h) / height_in,
                        0.07 / width_in, 0.75 * plot_h / height_in))
    bar = fig.colorbar(mappable, cax=cax)
    bar.set_label("AUC", fontsize=p.small_pt)
    bar.ax.tick_params(labelsize=p.small_pt, width=0.5, length=2)
    bar.outline.set_visible(False)
    return fig


def layer_table_mpl(rows: Sequence[LayerRow], preset: str | Preset = "single") -> Figure:
    """Matplotlib twin of :func:`line_core.figures.layer_table`."""
    grid = table_grid(rows)
    fig, p = _figure(preset, grid.height_in)
    ax = fig.add_axes((0.005, 0.02 / grid.height_in, 0.99, 1 - 0.04 / grid.height_in))
    ax.set_axis_off()
    widths = np.array(grid.widths) / sum(grid.widths)
    heights = [1] + grid.row_lines
    total = sum(heights)
    y = 1.0
    for r, lines in enumerate(heights):
        h = lines / total
        x = 0.0
        for c, width in enumerate(widths):
            header = r == 0
            text = grid.header[c] if header else "\n".join(grid.cells[r - 1][c])
            ax.add_patch(
                Rectangle(
                    (x, y - h),
                    width,
                    h,
                    fc=LIGHT_GREY if header else "white",
                    ec=LIGHT_GREY,
                    lw=0.5,
                    transform=ax.transAxes,
                )
            )
            right = FIGURE_ALIGN[c] == "right"
            ax.text(
                x + width - 0.01 if right else x + 0.01,
                y - h / 2,
                text,
                ha="right" if right else "left",
                va="center",
                fontsize=p.small_pt,
                weight="bold" if header else "normal",
                transform=ax.transAxes,
            )
            x += width
        y -= h
    return fig
