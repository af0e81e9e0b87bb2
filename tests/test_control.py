"""Control sets on the real planted model: folders (flat and by class), caching, bad input."""

import numpy as np
import pytest
from PIL import Image

from line_core.config import ExplainConfig
from line_core.control import folder_control, generator_control, load_control
from line_core.engine import start
from line_core.errors import ConfigError
from line_core.generators import GENERATORS
from line_core.record import load_history
from line_core.targets import load_target

COLOURS = {"red": (220, 20, 20), "green": (20, 180, 20), "blue": (20, 20, 220)}


@pytest.fixture(scope="module")
def planted():
    return load_target("planted")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LINE_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _image(rgb, seed):
    rng = np.random.default_rng(seed)
    arr = np.clip(np.array(rgb) + rng.integers(-20, 20, (32, 32, 3)), 0, 255).astype(np.uint8)
    return Image.fromarray(arr)


def _class_folder(root, per_class=6):
    for name, rgb in COLOURS.items():
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            _image(rgb, i).save(root / name / f"{i}.png")
    (root / "red" / "notes.txt").write_text("not an image")
    (root / "blue" / "broken.jpg").write_bytes(b"\xff\xd8 truncated")
    return root


def test_folder_with_classes_skips_unreadable_and_caches(tmp_path, planted, cache):
    folder = _class_folder(tmp_path / "ctrl")
    control = folder_control(planted, "units", folder)
    assert control.activations.shape == (18, 14)
    assert control.skipped == 2
    assert sorted(set(control.labels)) == ["blue", "green", "red"]
    means = control.class_means(0)  # unit 0 is the planted "red" unit
    assert max(means, key=means.get) == "red"
    cached = list((cache / "control").glob("*.npy"))
    assert len(cached) == 1
    again = folder_control(planted, "units", folder)
    np.testing.assert_array_equal(again.activations, control.activations)
    assert len(list((cache / "control").glob("*.npy"))) == 1


def test_flat_folder_and_too_small_folder(tmp_path, planted, cache):
    flat = tmp_path / "flat"
    flat.mkdir()
    for i in range(12):
        _image((i * 20, 100, 50), i).save(flat / f"{i}.png")
    control = folder_control(planted, "units", flat)
    assert control.labels is None and control.activations.shape[0] == 12
    small = tmp_path / "small"
    small.mkdir()
    _image((1, 2, 3), 0).save(small / "a.png")
    with pytest.raises(ConfigError, match="1 readable images"):
        folder_control(planted, "units", small)
    with pytest.raises(ConfigError, match="does not exist"):
        load_control(str(tmp_path / "nope"), planted, "units", None)


def test_generator_control_is_cached_and_deterministic(planted, cache):
    gen = GENERATORS.create("procedural", size=64)
    a = generator_control(planted, "units", gen, size=12)
    b = generator_control(planted, "units", gen, size=12)
    np.testing.assert_array_equal(a.activations, b.activations)
    assert a.activations.shape == (12, 14)
    assert len(a.refs) == 12


@pytest.mark.slow
def test_class_folder_gives_the_reference_initial_pool(tmp_path, cache):
    folder = _class_folder(tmp_path / "ctrl", per_class=5)
    for extra in ("yellow", "purple", "cyan", "white", "black", "orange", "pink"):
        (folder / extra).mkdir()
        for i in range(2):
            _image((128, 128, 128), i).save(folder / extra / f"{i}.png")
    config = ExplainConfig(
        model="planted",
        layer="units",
        neuron=0,
        control=str(folder),
        iterations=1,
        proposer="lexicon",
        runs_dir=str(tmp_path / "runs"),
    )
    explainer = start(config).explainer
    list(explainer.run())
    history = load_history(explainer.store.run_dir)
    initial = [r for r in history.records if r.iteration == 0]
    assert len(initial) == 10
    assert [r.source for r in initial] == ["control-class"] * 5 + ["random-class"] * 5
    assert "red" in [r.concept for r in initial[:5]]  # top-5 classes by mean activation


def test_a_corrupt_cache_entry_is_recomputed(planted, cache):
    gen = GENERATORS.create("procedural", size=64)
    first = generator_control(planted, "units", gen, size=12).activations
    [entry] = list((cache / "control").glob("*.npy"))
    entry.write_bytes(entry.read_bytes()[:40])  # a kill mid-write of an older version
    again = generator_control(planted, "units", gen, size=12).activations
    np.testing.assert_array_equal(first, again)
    assert np.load(entry).shape == first.shape  # rewritten whole


@pytest.mark.slow
def test_two_processes_fill_one_cache_entry(tmp_path, cache):
    import subprocess
    import sys

    script = (
        "import numpy as np, sys\n"
        "from line_core.control import generator_control\n"
        "from line_core.generators import GENERATORS\n"
        "from line_core.targets import load_target\n"
        "acts = generator_control(load_target('planted'), 'units',\n"
        "                         GENERATORS.create('procedural', size=64), size=40).activations\n"
        "np.save(sys.argv[1], acts)\n"
    )
    outs = [tmp_path / f"out{i}.npy" for i in range(2)]
    procs = [subprocess.Popen([sys.executable, "-c", script, str(o)]) for o in outs]
    assert [p.wait(timeout=300) for p in procs] == [0, 0]
    a, b = (np.load(o) for o in outs)
    np.testing.assert_array_equal(a, b)
    [entry] = list((cache / "control").glob("*.npy"))
    np.testing.assert_array_equal(np.load(entry), a)
    assert not list((cache / "control").glob("*.tmp*"))
