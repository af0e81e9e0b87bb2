"""Figure builders on a synthetic run: content, paper sizes, style (no browser needed)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest
from matplotlib.figure import Figure
from run_fixtures import trigram_embedder

from line_core.errors import ConfigError
from line_core.figures import (
    OKABE_ITO,
    LayerRow,
    activation_bars,
    get_preset,
    image_grid,
    layer_table,
    load_run_data,
    mpl_figures,
    plotly_figures,
    poly_map,
    score_curve,
)
from line_core.figures.data import grid_rows, score_curve_data, top_records
from line_core.figures.image_grid import grid_layout
from line_core.figures.mpl import layer_table_mpl
from line_core.figures.style import SOURCE_COLOURS


@pytest.fixture(scope="module")
def data(planted_runs):
    return load_run_data(planted_runs["or"], embedder=trigram_embedder)


def test_presets_are_paper_sizes():
    single, double = get_preset("single"), get_preset("double")
    assert (single.width_in, double.width_in) == (3.5, 7.0)
    assert single.width_px == 336 and double.width_px == 672
    assert 8 <= single.font_pt <= 9 and 8 <= double.font_pt <= 9
    with pytest.raises(ConfigError, match="single"):
        get_preset("poster")


def test_palette_is_okabe_ito():
    assert set(SOURCE_COLOURS.values()) <= set(OKABE_ITO.values())
    # the initial pool's sources (seed vocabulary, classes, atlas, random picks) share one
    # colour; who proposed a concept (LLM, lexicon, user, summary, probe) has its own
    pool = ("seed", "control-class", "random-class", "atlas", "random-atlas")
    assert {SOURCE_COLOURS[s] for s in pool} == {SOURCE_COLOURS["seed"]}
    proposers = ("llm", "lexicon", "user", "summary", "probe", "seed")
    assert len({SOURCE_COLOURS[s] for s in proposers}) == len(proposers)
    # the LLM's blue has no near twin (the seed vocabulary's sky blue was mistaken for it)
    assert OKABE_ITO["sky_blue"] not in SOURCE_COLOURS.values()


@pytest.mark.parametrize("preset", ["single", "double"])
def test_every_run_figure_is_paper_styled(data, preset):
    figs = plotly_figures(data, preset)
    assert set(figs) == {"score_curve", "activation_bars", "image_grid", "poly_map"}
    for fig in figs.values():
        assert isinstance(fig, go.Figure)
        assert fig.layout.width == get_preset(preset).width_px
        assert fig.layout.height > 100
        assert fig.layout.title.text is None
        assert fig.layout.paper_bgcolor == "#FFFFFF"
        assert fig.layout.font.size == pytest.approx(get_preset(preset).font_px)


def test_score_curve_content(data):
    fig = score_curve(data.history)
    names = [t.name for t in fig.data]
    assert {"seed", "llm", "lexicon", "user", "summary", "best so far", "random"} <= set(names)
    points = [t for t in fig.data if t.name in SOURCE_COLOURS]
    assert sum(len(t.x) for t in points) == len(data.history.records)
    for trace in points:  # bootstrap intervals as asymmetric error bars
        assert trace.error_y.symmetric is False
        assert all(v >= 0 for v in trace.error_y.array)
        assert trace.marker.color == SOURCE_COLOURS[trace.name]
    best = next(t for t in fig.data if t.name == "best so far")
    assert list(best.y)[:-1] == [v for _, v in data.history.best_so_far()]
    baseline = data.history.baseline()
    mean, sd = baseline.mean, baseline.sd
    seeds = [r.auc for r in data.history.records if r.source == "seed"]
    assert mean == pytest.approx(np.mean(seeds)) and sd == pytest.approx(np.std(seeds, ddof=1))
    band = next(t for t in fig.data if t.name == "random")
    assert min(band.y) == pytest.approx(mean - sd) and max(band.y) == pytest.approx(mean + sd)
    assert fig.layout.xaxis.ticktext[-1] == "S"  # the summary iteration is marked


def test_score_curve_jitter_keeps_iterations_apart(data):
    curve = score_curve_data(data.history)
    for point in curve.points:
        assert abs(point.x - point.iteration) < 0.5


def test_activation_bars_with_and_without_control(data):
    with_control = activation_bars(data.history, data.control)
    bars = [t for t in with_control.data if isinstance(t, go.Bar)]
    labels = [t.y[0] for t in bars]
    assert labels[-1].startswith("control (n=40)")
    assert labels[0] == data.history.current_pool()[0].concept
    control_bar = bars[-1]
    assert control_bar.x[0] == pytest.approx(np.mean(data.control))
    assert control_bar.error_x.array[0] == pytest.approx(np.std(data.control, ddof=1))
    assert len(with_control.layout.shapes) == 1  # dashed line at the control mean
    without = activation_bars(data.history, None)
    assert not any(str(t.y[0]).startswith("control") for t in without.data if t.y is not None)


def test_image_grid_rows_and_captions(data):
    fig = image_grid(data.history, data.run_dir, n_concepts=3, n_images=4)
    rows = grid_rows(data.history, data.run_dir, 3, 4)
    assert [r.concept for r in rows] == [r.concept for r in top_records(data.history, 3)]
    assert len(fig.layout.images) == sum(len(r.cells) for r in rows) == 12
    assert all(img.source.startswith("data:image/png;base64,") for img in fig.layout.images)
    texts = [a.text for a in fig.layout.annotations]
    assert any(rows[0].concept in t and "AUC" in t for t in texts)
    assert f"{rows[0].cells[0].activation:.2f}" in texts
    acts = [c.activation for c in rows[0].cells]
    assert acts == sorted(acts, reverse=True)


def test_image_grid_layout_fits_the_width():
    panels, height = grid_layout(8, 5, 7.0)
    assert len({p.left for p in panels}) == 2  # two panels side by side at 7 in
    for panel in panels:
        assert panel.cells[-1].left + panel.cells[-1].size <= 7.0 + 1e-9
    assert height > 0


def test_poly_map_groups(data):
    fig = poly_map(data.history, report=data.report)
    group_traces = [t for t in fig.data if t.name and t.name.startswith("G")]
    assert len(group_traces) == data.report.n_groups
    hulls = [t for t in fig.data if t.fill == "toself"]
    assert len(hulls) == sum(1 for g in data.report.groups if len(g.concepts) >= 2)
    coloured = [t for t in fig.data if t.marker is not None and t.marker.colorscale]
    assert sum(len(t.x) for t in coloured) == len(data.report.points)


def test_layer_table_figure():
    rows = [
        LayerRow("run-a", "_conv_head", 7, "red", 0.98, 3.1, 1, 1.0),
        LayerRow("run-b", "_conv_head", 9, "red and white vertical stripes", 0.91, 2.0, 2, 1.8),
    ]
    fig = layer_table(rows)
    table = fig.data[0]
    assert isinstance(table, go.Table)
    assert list(table.header.values)[:3] == ["Layer", "Unit", "Label"]
    assert "0.980" in table.cells.values[3] and "1.80" in table.cells.values[6]
    assert "<br>" in table.cells.values[2][1]  # long labels wrap instead of being cut
    assert isinstance(layer_table_mpl(rows), Figure)


def test_screen_layout_has_no_fixed_width(data):
    fig = score_curve(data.history, preset=None)
    assert fig.layout.width is None


def test_matplotlib_twins_build(data):
    figs = mpl_figures(data, "single")
    assert set(figs) == {"score_curve", "activation_bars", "image_grid", "poly_map"}
    for fig in figs.values():
        assert isinstance(fig, Figure)
        assert fig.get_figwidth() == pytest.approx(3.5)
