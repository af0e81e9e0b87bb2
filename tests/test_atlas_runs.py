"""Runs through the concept atlas: same scores as without it, nothing rendered twice, the
initial pool from a built atlas, and the manifest saying which atlas a run used."""

import os

import numpy as np
import pytest

from line_core import engine
from line_core.config import ExplainConfig
from line_core.engine import atlas as atlas_door
from line_core.generators import GENERATORS
from line_core.record import RunStore, load_history
from line_core.targets import load_target

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def planted():
    return load_target("planted")


@pytest.fixture
def atlas_dir(tmp_path, monkeypatch):
    folder = tmp_path / "atlas"
    monkeypatch.setenv("LINE_ATLAS_DIR", str(folder))
    return folder


def _run(planted, runs, neuron=12, **changes):
    config = ExplainConfig(model="planted", layer="units", neuron=neuron, iterations=2,
                           images_per_concept=2, control_size=20, runs_dir=str(runs), **changes)
    explainer = engine.start(config, target=planted).explainer
    list(explainer.run())
    return explainer.store.run_dir


def _records(run_dir):
    return [(r.iteration, r.concept, r.source, r.auc, r.mad)
            for r in load_history(run_dir).records]


def _images(run_dir):
    return [e for e in RunStore.open(run_dir).events() if e.type == "images_generated"]


def test_scores_match_a_run_without_the_atlas_and_a_warm_atlas_renders_nothing(
        planted, tmp_path, atlas_dir):
    plain = _records(_run(planted, tmp_path / "plain", atlas=False))
    cold_dir = _run(planted, tmp_path / "cold")
    warm_dir = _run(planted, tmp_path / "warm")
    for other in (_records(cold_dir), _records(warm_dir)):
        assert [r[:3] for r in other] == [r[:3] for r in plain]
        np.testing.assert_allclose([r[3:] for r in other], [r[3:] for r in plain], atol=1e-6)
    assert load_history(warm_dir).best().concept == load_history(cold_dir).best().concept
    cold, warm = _images(cold_dir), _images(warm_dir)
    assert sum(e.cached for e in cold) < sum(len(e.seeds) for e in cold)
    assert all(e.cached == len(e.seeds) and e.seconds == 0 for e in warm)
    # the warm run's images are the atlas's files, hard-linked: the run stays self-contained
    image = warm_dir / warm[0].images[0]
    assert os.stat(image).st_nlink >= 2
    manifest = RunStore.open(warm_dir).manifest()
    assert manifest.atlas["folder"].startswith(str(atlas_dir)) and not manifest.atlas["built"]
    assert RunStore.open(tmp_path / "plain" / os.listdir(tmp_path / "plain")[0]).manifest().atlas \
        == {}


def test_a_built_atlas_gives_the_initial_pool_at_no_rendering_cost(planted, tmp_path, atlas_dir):
    vocabulary = tmp_path / "words.txt"
    words = ["red", "crimson", "blue", "green", "yellow", "purple", "orange", "white", "black",
             "vertical stripes", "horizontal stripes", "checkerboard", "polka dots", "grid",
             "waves", "zigzag", "spiral", "circles", "stars", "squares", "triangles",
             "red stripes", "blue stripes", "green circles", "yellow stars", "pink", "brown",
             "gray", "navy", "teal", "gold", "silver", "maroon", "olive", "lime", "cyan",
             "magenta", "beige", "coral", "indigo", "violet", "turquoise", "lavender", "tan",
             "red checkerboard", "blue polka dots", "yellow horizontal stripes", "green grid",
             "purple waves", "orange zigzag", "white stars on black", "red vertical stripes"]
    vocabulary.write_text("\n".join(words) + "\n", encoding="utf-8")
    built = atlas_door.build(planted, "units", GENERATORS.create("procedural"), str(vocabulary),
                             images_per_concept=2)
    assert built.report.concepts == len(words) and built.report.rendered == 2 * len(words)
    run_dir = _run(planted, tmp_path / "runs", neuron=0)
    history = load_history(run_dir)
    first = [r for r in history.records if r.iteration == 0]
    assert {r.source for r in first} == {"atlas", "random-atlas"}
    assert sum(r.source == "atlas" for r in first) == 20
    assert sum(r.source == "random-atlas" for r in first) == 10
    chosen = [r for r in first if r.source == "atlas"]
    assert {"red", "crimson", "red vertical stripes"} <= {r.concept for r in chosen}
    chance = [r.auc for r in first if r.source == "random-atlas"]
    best5 = sorted((r.auc for r in chosen), reverse=True)[:5]
    assert min(best5) >= 0.9 and max(chance) < min(best5)
    zero = [e for e in _images(run_dir) if e.iteration == 0]
    assert zero and all(e.cached == len(e.seeds) for e in zero)
    manifest = RunStore.open(run_dir).manifest()
    assert manifest.atlas["built"] and manifest.atlas["concepts"] >= len(words)
    assert "file" in manifest.atlas["vocabulary"]
    # --no-atlas: the generator's seed vocabulary, as before
    plain = load_history(_run(planted, tmp_path / "plain", neuron=0, atlas=False))
    assert {r.source for r in plain.records if r.iteration == 0} == {"seed"}
