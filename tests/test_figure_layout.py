"""Print-ready figures: no overlapping or clipped text in any backend, a grid row per meaning.

The poly map is drawn from a crowded synthetic analysis (two groups of long, close concept
names): the matplotlib figure is measured with its own renderer, the kaleido SVG in
Chromium (``getBoundingClientRect`` of every text element).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from matplotlib.text import Text
from run_fixtures import trigram_embedder

from line_core.analysis.polysemanticity import ConceptGroup, MapPoint, PolysemanticityReport
from line_core.figures import load_run_data
from line_core.figures.activation_bars import bars_height_in
from line_core.figures.data import grid_rows, meaning_records, pool_rows
from line_core.figures.label_layout import numbered_key, place_labels, text_width_pt
from line_core.figures.mpl import activation_bars_mpl, poly_map_mpl
from line_core.figures.poly_map import poly_map_figure, poly_map_layout
from line_core.figures.render import PlotlyJob, render_kaleido

LONG = ["crimson vertical stripes on white", "scarlet ribbon pattern", "red and white candy cane",
        "vertical red bars", "red stripes", "two vertical red lines", "deep red fabric weave"]


def _boxes(placed, points, font_pt):
    """The text boxes of placed labels, in the same points as the layout."""
    out = []
    for label in placed:
        x, y = points[label.index]
        w, h = text_width_pt(label.text, font_pt), font_pt * 1.15
        x, y = x + label.dx_pt, y + label.dy_pt
        left = {"center": x - w / 2, "left": x, "right": x - w}[label.ha]
        bottom = {"middle": y - h / 2, "bottom": y, "top": y - h}[label.va]
        out.append((left, bottom, left + w, bottom + h))
    return out


def _overlap(a, b, tol=0.0):
    return a[0] < b[2] - tol and b[0] < a[2] - tol and a[1] < b[3] - tol and b[1] < a[3] - tol


@pytest.mark.parametrize("seed", range(8))
def test_placed_labels_never_overlap_and_stay_inside(seed):
    rng = np.random.default_rng(seed)
    plot = (230.0, 160.0)
    centre = rng.uniform([40, 30], [190, 130])
    points = [tuple(p) for p in centre + rng.normal(0, 12, size=(7, 2))]
    points = [(min(max(x, 5), 225), min(max(y, 5), 155)) for x, y in points]
    others = [tuple(p) for p in rng.uniform([0, 0], plot, size=(25, 2))]
    placed = place_labels(points, LONG, plot, font_pt=7.0, marker_pt=7.0, obstacles_pt=others)
    boxes = _boxes(placed, points, 7.0)
    markers = [(x - 3.5, y - 3.5, x + 3.5, y + 3.5) for x, y in [*points, *others]]
    for a, b in itertools.combinations(boxes, 2):
        assert not _overlap(a, b), (a, b)
    for box in boxes:
        assert box[0] >= 0 and box[1] >= 0 and box[2] <= plot[0] and box[3] <= plot[1]
        assert not any(_overlap(box, m) for m in markers)
    # a name that does not fit became a number, listed in order in the key
    numbers = [label for label in placed if label.numbered]
    assert [label.text for label in numbers] == [str(i) for i in range(1, len(numbers) + 1)]
    key = numbered_key(placed, LONG)
    assert key == [f"{label.text} {LONG[label.index]}" for label in numbers]


def test_a_crowded_cluster_moves_labels_out_not_on_top_of_each_other():
    points = [(100.0 + 3 * i, 80.0 + 2 * (i % 2)) for i in range(6)]
    placed = place_labels(points, LONG[:6], (200.0, 160.0), font_pt=7.0)
    assert any(label.numbered or label.leader for label in placed)
    first = placed[0]  # the most important keeps its name, beside its point
    assert not first.numbered and not first.leader
    for a, b in itertools.combinations(_boxes(placed, points, 7.0), 2):
        assert not _overlap(a, b)


def _crowded_report() -> PolysemanticityReport:
    rng = np.random.default_rng(3)
    points, groups = [], []
    for g, (cx, cy, names) in enumerate([(0.0, 0.0, LONG), (0.6, 0.5, ["gray stripes",
                                          "vertical stripes in grey", "thin vertical stripes"])],
                                         start=1):
        for i, name in enumerate(names):
            points.append(MapPoint(name, cx + 0.03 * i, cy + 0.02 * ((-1) ** i), 0.95 - 0.01 * i,
                                   "lexicon", g))
        groups.append(ConceptGroup(g, list(names), names[0], 0.97, 0.93, 0.5,
                                   term=f"{names[0]} AND NOT polka dots AND NOT checkerboard",
                                   strength=1.0 - 0.1 * g))
    points += [MapPoint(f"other {i}", *rng.uniform(-0.5, 1.0, 2), 0.55, "seed", None)
               for i in range(30)]
    formula = " OR ".join(f"({g.term})" for g in groups)
    return PolysemanticityReport(0.9, LONG[0], 0.97, LONG, groups, 2.0, points, formula=formula,
                                 verdict="two independent drivers")


def _text_extents(fig):
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    # the text alone (an annotation's extent includes its leader line, which may cross text)
    return [(t.get_text(), Text.get_window_extent(t, renderer)) for t in texts]


@pytest.mark.parametrize("preset", ["single", "double"])
def test_poly_map_matplotlib_text_never_overlaps_or_leaves_the_page(preset):
    report = _crowded_report()
    fig = poly_map_mpl(report, preset)
    extents = _text_extents(fig)
    page = fig.bbox
    names = [text for text, _ in extents]
    assert any(name.startswith("G1 = ") for name in names)  # every group explained in full
    assert any("Numbers:" in name for name in names)  # the crowded names became numbers
    for text, box in extents:
        assert box.x0 >= page.x0 - 0.5 and box.x1 <= page.x1 + 0.5, text
        assert box.y0 >= page.y0 - 0.5 and box.y1 <= page.y1 + 0.5, text
    for (ta, a), (tb, b) in itertools.combinations(extents, 2):
        assert not a.overlaps(b) or a.width == 0 or b.width == 0, (ta, tb)
    # every point of a group is labelled once, by name or by number
    layout = poly_map_layout(report, preset)
    assert len(layout.labels) == sum(len(g.concepts) for g in report.groups)


@pytest.mark.slow
@pytest.mark.browser
def test_poly_map_svg_from_kaleido_has_no_overlapping_or_clipped_text(chromium_path, tmp_path):
    from playwright.sync_api import sync_playwright

    path = tmp_path / "poly_map.svg"
    render_kaleido([PlotlyJob(poly_map_figure(_crowded_report(), "single"), path, "svg")])
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path,
                                             args=["--headless", "--no-sandbox"])
        page = browser.new_page()
        page.goto(path.as_uri())
        page_box = page.evaluate("(() => { const r = document.querySelector('svg')"
                                 ".getBoundingClientRect(); return [r.left, r.top, r.right, "
                                 "r.bottom]; })()")
        texts = page.evaluate(
            "Array.from(document.querySelectorAll('text')).filter(t => t.textContent.trim())"
            ".map(t => { const r = t.getBoundingClientRect(); "
            "return [t.textContent, r.left, r.top, r.right, r.bottom]; })"
        )
        browser.close()
    assert any(t[0].startswith("G1 = ") for t in texts)
    for name, *box in texts:
        assert box[0] >= page_box[0] - 0.5 and box[2] <= page_box[2] + 0.5, name
        assert box[1] >= page_box[1] - 0.5 and box[3] <= page_box[3] + 0.5, name
    for (na, *a), (nb, *b) in itertools.combinations(texts, 2):
        assert not _overlap((a[0], a[1], a[2], a[3]), (b[0], b[1], b[2], b[3]), tol=0.5), (na, nb)


def test_activation_bars_wrapped_labels_do_not_touch_and_the_legend_is_complete(planted_runs):
    data = load_run_data(planted_runs["or"], embedder=trigram_embedder)
    fig = activation_bars_mpl(data.history, data.control)
    fig.canvas.draw()
    ticks = [(t.get_text(), t.get_window_extent()) for t in fig.axes[0].get_yticklabels()]
    assert any("\n" in text for text, _ in ticks) or bars_height_in(3, 2) > bars_height_in(3)
    for (ta, a), (tb, b) in itertools.combinations(ticks, 2):
        assert not a.overlaps(b), (ta, tb)
    legend = {t.get_text() for t in fig.legends[0].get_texts()}
    shown = {row.source for row in pool_rows(data.history, data.control, limit=10)}
    assert shown - {"control"} <= legend
    for text in fig.legends[0].get_texts():
        box = text.get_window_extent()
        assert fig.bbox.x0 <= box.x0 and box.x1 <= fig.bbox.x1, text.get_text()


def test_image_grid_gives_every_meaning_rows(planted_runs):
    data = load_run_data(planted_runs["or"], embedder=trigram_embedder)
    groups = [g.concepts for g in data.report.groups]
    assert len(groups) >= 2, "the OR run should show two drivers"
    chosen = meaning_records(data.history, groups, 4)
    assert [group for _, group in chosen[:2]] == [1, 2]
    rows = grid_rows(data.history, data.run_dir, 4, 3, groups)
    assert {row.group for row in rows} == {1, 2}
    assert all(row.title.startswith(f"G{row.group} · ") for row in rows)
    # one meaning only: the plain top concepts, untitled
    single = grid_rows(data.history, data.run_dir, 4, 3, groups[:1])
    assert all(row.group is None and row.title == row.concept for row in single)


def test_score_curve_on_screen_stays_readable_at_80_iterations(planted_runs):
    from dashboard.charts import iteration_step, score_curve

    assert [iteration_step(n) for n in (5, 12, 13, 80, 400)] == [1, 1, 2, 10, 50]
    history = load_run_data(planted_runs["or"], embedder=trigram_embedder).history
    records = [r for r in history.records]
    long = [type(r)(**{**r.__dict__, "iteration": 8 * r.iteration}) for r in records]
    fig = score_curve(long, [(8 * i, a) for i, a in history.best_so_far()])
    last = max(r.iteration for r in long)
    assert last >= 40 and last / fig.layout.xaxis.dtick <= 12
    # the legend sits under the plot, out of the way of plotly's toolbar (top right)
    assert fig.layout.legend.yanchor == "top" and fig.layout.legend.y < 0
