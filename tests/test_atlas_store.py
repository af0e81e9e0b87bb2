"""The concept atlas on disk: store, measuring through it, keys, concurrent writers, kills,
damaged shards, ranking, upkeep, the CLI, and run folders that stay self-contained.

Real components throughout: the procedural renderer (32x32) and FixedConvNet (8x8 inputs,
layer ``conv``: 3 units whose space means are R+G+B, R-B and 2G), so every row is exactly
reproducible; the registered ``planted`` model only where the CLI needs a model name.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from atlas_workers import IMAGE_SIZE, INPUT_SIZE, LAYER, parts
from helpers_models import FixedConvNet, make_target
from PIL import Image
from torch import nn

from line_core import scoring
from line_core.atlas import Atlas, AtlasEntry, AtlasKey, store
from line_core.atlas.build import build_atlas
from line_core.atlas.measure import measure_concepts
from line_core.atlas.ranking import MIN_ROWS, rank_concepts
from line_core.atlas.upkeep import atlas_stats, clean, compact, parse_size, prune
from line_core.atlas.vocabulary import procedural_grammar
from line_core.errors import BackendError, ConfigError
from line_core.generators.procedural.generator import ProceduralGenerator
from line_core.probe import layer_activations
from line_core.record.store import RunStore, image_name
from line_core.targets.base import Target
from line_core.targets.preprocess import ImagePreprocess

WORKER = Path(__file__).with_name("atlas_workers.py")
UNITS = 3  # FixedConvNet's conv channels


# -- shared pieces -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def components():
    return parts()


@pytest.fixture(scope="module")
def target(components):
    return components[0]


@pytest.fixture(scope="module")
def gen(components):
    return components[1]


@pytest.fixture(scope="module")
def key(components):
    target, generator = components
    return AtlasKey.of(target, LAYER, generator)


@pytest.fixture
def atlas(key, tmp_path):
    return Atlas.open(key, root=tmp_path / "atlases")


@pytest.fixture(autouse=True)
def _own_atlas_dir(tmp_path, monkeypatch):
    """Nothing in this file may write into another test's atlases."""
    default = tmp_path / "default-atlases"
    monkeypatch.setenv("LINE_ATLAS_DIR", str(default))
    return default


def reference_rows(target, gen, concept, seeds):
    """Rows computed directly (no atlas): the generator's images through the probe."""
    return np.asarray(layer_activations(target, LAYER, gen.generate(concept, list(seeds))))


def entries(concept, seeds, flagged=()):
    return [AtlasEntry(concept, s, f"images/{concept}-{s}.png", s in flagged) for s in seeds]


def index_files(atlas: Atlas) -> list[Path]:
    return sorted((atlas.folder / "shards").glob("*.json"))


@pytest.fixture
def shard_stamps(monkeypatch):
    """Give shards increasing names (one commit per 'second'), so commit order is name order."""
    counter = iter(range(1, 10_000))
    monkeypatch.setattr(
        store, "time",
        types.SimpleNamespace(time_ns=lambda: next(counter), strftime=time.strftime),
    )


class FlaggingGenerator:
    """The procedural renderer behind a fake safety checker that blacks out chosen images.

    ``flag(concept, seed)`` says which; ``last_flagged`` holds the indices of the last call's
    blacked-out images (as the diffusers backend reports them); ``calls`` counts renders.
    """

    name = "procedural-flagging"

    def __init__(self, flag) -> None:
        self._inner = ProceduralGenerator(size=IMAGE_SIZE)
        self._flag = flag
        self.last_flagged: list[int] = []
        self.calls = 0

    def generate(self, concept, seeds):
        self.calls += 1
        images = self._inner.generate(concept, seeds)
        self.last_flagged = [i for i, s in enumerate(seeds) if self._flag(concept, s)]
        for i in self.last_flagged:
            images[i] = Image.new("RGB", images[i].size)
        return images


# -- 1. the store itself ---------------------------------------------------------------------


def test_store_round_trip_and_a_second_reader(key, tmp_path, shard_stamps):
    root = tmp_path / "atlases"
    writer = Atlas.open(key, root=root)
    reader = Atlas.open(key, root=root)  # another process, opened before anything exists
    assert reader.concepts() == [] and reader.units == 0
    assert reader.lookup("red", [1]) == [None]

    red = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.float32)
    blue = np.array([[7, 8, 9]], dtype=np.float32)
    first = writer.add(entries("red", [1, 2]) + entries("blue", [1], flagged={1}),
                       np.concatenate([red, blue]))
    assert (root / key.digest / "shards" / f"{first}.json").exists()
    assert json.loads((root / key.digest / "key.json").read_text()) == key.to_dict()

    # the writer reads its own shard at once, without a refresh
    np.testing.assert_array_equal(writer.rows("red", [1, 2]), red)
    found = writer.lookup("red", [2, 3, 1])
    assert found == [entries("red", [2])[0], None, entries("red", [1])[0]]
    np.testing.assert_array_equal(writer.rows("red", [2, 1]), red[::-1])
    assert writer.concepts() == ["red"]  # blue's only image is flagged
    assert writer.units == UNITS
    concepts, owner, rows = writer.table()
    assert concepts == ["red"]
    assert owner.tolist() == [0, 0]
    np.testing.assert_array_equal(rows, red)
    np.testing.assert_array_equal(writer.concept_rows("red"), red)
    assert writer.concept_rows("blue").shape == (0, UNITS)
    assert writer.lookup("blue", [1])[0].flagged is True

    # the reader refreshes on a lookup miss and sees the new shard
    assert reader.lookup("red", [1, 2]) == entries("red", [1, 2])
    np.testing.assert_array_equal(reader.rows("red", [1, 2]), red)

    # a later shard repeating (red, 1) with other rows: the first committed wins, for both
    # the reader that saw the first shard and a reader opened afterwards
    green = np.array([[10, 11, 12]], dtype=np.float32)
    writer.add(entries("red", [1]) + entries("green", [5]),
               np.concatenate([np.full((1, 3), -1, np.float32), green]))
    late = Atlas.open(key, root=root)
    for atlas in (writer, reader, late):
        assert atlas.lookup("green", [5]) == entries("green", [5])  # a miss refreshes
        np.testing.assert_array_equal(atlas.rows("red", [1]), red[:1])
        np.testing.assert_array_equal(atlas.rows("green", [5]), green)
        assert atlas.concepts() == ["red", "green"]
        names, owner, rows = atlas.table()
        assert names == ["red", "green"]
        assert sorted(owner.tolist()) == [0, 0, 1]
        assert rows.shape == (3, UNITS)
        assert -1 not in rows  # the repeated row is not counted twice

    with pytest.raises(ValueError):
        writer.add(entries("x", [1, 2]), np.zeros((3, UNITS), np.float32))
    with pytest.raises(KeyError):
        writer.rows("nothing", [1])


def test_add_copies_the_rows(key, tmp_path):
    writer = Atlas.open(key, root=tmp_path)
    rows = np.ones((1, UNITS), np.float32)
    writer.add(entries("red", [1]), rows)
    rows[:] = 5  # the caller reuses its buffer
    np.testing.assert_array_equal(writer.rows("red", [1]), np.ones((1, UNITS)))


def test_rows_of_a_freshly_opened_atlas(key, tmp_path):
    Atlas.open(key, root=tmp_path).add(entries("red", [1]), np.ones((1, UNITS), np.float32))
    reader = Atlas.open(key, root=tmp_path)
    np.testing.assert_array_equal(reader.rows("red", [1]), np.ones((1, UNITS)))


def test_first_committed_wins_within_one_second(key, tmp_path, monkeypatch):
    # shard names carry the commit time in nanoseconds: the random token never decides
    tokens = iter(["ffffffff", "00000000"])
    stamps = iter([1_000_000_000, 1_000_000_001])
    monkeypatch.setattr(store, "time", types.SimpleNamespace(time_ns=lambda: next(stamps),
                                                             strftime=time.strftime))
    monkeypatch.setattr(store, "secrets", types.SimpleNamespace(token_hex=lambda n: next(tokens)))
    writer = Atlas.open(key, root=tmp_path)
    writer.add(entries("red", [1]), np.ones((1, UNITS), np.float32))
    assert writer.concepts() == ["red"]
    writer.add(entries("red", [1]), np.full((1, UNITS), 2, np.float32))
    np.testing.assert_array_equal(writer.rows("red", [1]), np.ones((1, UNITS)))
    fresh = Atlas.open(key, root=tmp_path)
    assert fresh.lookup("red", [1])[0] is not None
    np.testing.assert_array_equal(fresh.rows("red", [1]), np.ones((1, UNITS)))


# -- 2. measuring through the atlas -----------------------------------------------------------


def test_measure_renders_once_then_reads_back(target, gen, atlas, monkeypatch):
    requests = [("red", [1, 2, 3]), ("blue stripes", [4, 5]), ("red", [3, 7])]
    asked = []
    real_generate = gen.generate
    monkeypatch.setattr(gen, "generate",
                        lambda concept, seeds: asked.append((concept, list(seeds)))
                        or real_generate(concept, seeds))
    first = measure_concepts(requests, gen, target, LAYER, atlas=atlas)
    # (red, 3) asked twice in one call is rendered once (each result counts it as fresh)
    assert asked == [("red", [1, 2, 3]), ("blue stripes", [4, 5]), ("red", [7])]
    assert [r.rendered for r in first] == [3, 2, 2]
    monkeypatch.undo()
    assert [r.seeds for r in first] == [[1, 2, 3], [4, 5], [3, 7]]
    assert all(r.pictures is None and r.dropped == [] for r in first)
    for result in first:
        np.testing.assert_array_equal(result.rows,
                                      reference_rows(target, gen, result.concept, result.seeds))
        assert result.rows.shape == (len(result.seeds), UNITS)
        for seed, path in zip(result.seeds, result.files, strict=True):
            assert path.is_file() and path.is_relative_to(atlas.folder)
            assert path.name == image_name(gen.render(result.concept, seed))
    assert len(index_files(atlas)) == 1  # one batch: one shard

    calls = []
    monkeypatch.setattr(gen, "generate", lambda *a: calls.append(a) or [])
    second = measure_concepts(requests, gen, target, LAYER, atlas=atlas)
    assert calls == []
    assert [r.rendered for r in second] == [0, 0, 0]
    assert all(r.seconds == 0.0 for r in second)
    for a, b in zip(first, second, strict=True):
        assert a.seeds == b.seeds and a.files == b.files
        assert np.array_equal(a.rows, b.rows)
    assert len(index_files(atlas)) == 1


def test_measure_small_batches_commit_one_shard_each(target, gen, atlas):
    requests = [(c, [1, 2]) for c in ("red", "blue", "green", "yellow")]
    results = measure_concepts(requests, gen, target, LAYER, atlas=atlas, batch_size=4)
    assert len(index_files(atlas)) == 2
    reader = Atlas.open(atlas.key, root=atlas.folder.parent)
    for result in results:
        assert None not in reader.lookup(result.concept, [1, 2])
        np.testing.assert_array_equal(reader.rows(result.concept, [1, 2]), result.rows)


def test_measure_without_atlas_keeps_pictures_and_stores_nothing(target, gen, _own_atlas_dir):
    (result,) = measure_concepts([("green circles", [3, 4, 5])], gen, target, LAYER, atlas=None)
    assert result.rendered == 3 and result.files is None
    assert [image_name(p) for p in result.pictures] == [
        image_name(i) for i in gen.generate("green circles", [3, 4, 5])]
    np.testing.assert_array_equal(result.rows,
                                  reference_rows(target, gen, "green circles", [3, 4, 5]))
    assert not _own_atlas_dir.exists() or not any(_own_atlas_dir.iterdir())


def test_flagged_images_are_dropped_and_remembered(target, tmp_path):
    gen = FlaggingGenerator(lambda concept, seed: concept == "blue stripes" and seed == 2)
    atlas = Atlas.open(AtlasKey.of(target, LAYER, gen), root=tmp_path)
    requests = [("red", [1, 2, 3]), ("blue stripes", [1, 2, 3])]
    first = measure_concepts(requests, gen, target, LAYER, atlas=atlas)
    red, blue = first
    assert red.seeds == [1, 2, 3] and red.dropped == []
    assert blue.seeds == [1, 3] and blue.dropped == [1] and blue.rendered == 3
    assert len(blue.files) == 2
    np.testing.assert_array_equal(blue.rows, reference_rows(target, gen, "blue stripes", [1, 3]))
    stored = atlas.lookup("blue stripes", [1, 2, 3])
    assert [e.flagged for e in stored] == [False, True, False]
    assert stored[1].image == ""  # a blacked-out image is not kept
    # flagged rows never reach the table (and so never the ranking)
    concepts, owner, rows = atlas.table()
    assert sorted(owner.tolist()) == [0, 0, 0, 1, 1]
    np.testing.assert_array_equal(atlas.concept_rows("blue stripes"), blue.rows)

    calls = gen.calls
    again = measure_concepts(requests, gen, target, LAYER, atlas=atlas)
    assert gen.calls == calls  # nothing rendered: the flag is remembered
    assert again[1].seeds == [1, 3] and again[1].dropped == [1] and again[1].rendered == 0
    np.testing.assert_array_equal(again[1].rows, blue.rows)


def test_too_few_usable_images(target, tmp_path):
    gen = FlaggingGenerator(lambda concept, seed: concept == "yellow" and seed != 1)
    atlas = Atlas.open(AtlasKey.of(target, LAYER, gen), root=tmp_path)
    requests = [("red", [1, 2]), ("yellow", [1, 2, 3])]
    with pytest.raises(BackendError, match="blacked out 2 of 3 images of 'yellow'"):
        measure_concepts(requests, gen, target, LAYER, atlas=atlas)
    red, yellow = measure_concepts(requests, gen, target, LAYER, atlas=atlas, strict=False)
    assert yellow.seeds == [1] and yellow.dropped == [1, 2] and yellow.rows.shape == (1, UNITS)
    assert red.seeds == [1, 2]
    with pytest.raises(BackendError):
        measure_concepts([("yellow", [2, 3])], gen, target, LAYER, atlas=None)
    (alone,) = measure_concepts([("yellow", [2, 3])], gen, target, LAYER, atlas=None,
                                strict=False)
    assert alone.seeds == [] and alone.dropped == [0, 1]


def test_all_flagged_first_batch_is_remembered(target, tmp_path):
    gen = FlaggingGenerator(lambda concept, seed: concept == "blocked")
    atlas = Atlas.open(AtlasKey.of(target, LAYER, gen), root=tmp_path)
    measure_concepts([("blocked", [1, 2, 3])], gen, target, LAYER, atlas=atlas, strict=False)
    calls = gen.calls
    (again,) = measure_concepts([("blocked", [1, 2, 3])], gen, target, LAYER, atlas=atlas,
                                strict=False)
    assert again.dropped == [0, 1, 2]
    assert gen.calls == calls and again.rendered == 0


# -- 3. keys -----------------------------------------------------------------------------------


def test_keys_change_with_every_input(target, gen, key):
    fresh_target, fresh_gen = parts()
    assert AtlasKey.of(fresh_target, LAYER, fresh_gen).digest == key.digest
    assert AtlasKey.of(target, LAYER, gen, "auto") == key

    perturbed = FixedConvNet()
    with torch.no_grad():
        perturbed.fc.weight[1, 2] += 1e-3
    normalised = Target(name=target.name, model=target.model,
                        preprocess=ImagePreprocess(size=INPUT_SIZE, mean=(0.5,) * 3,
                                                   std=(0.5,) * 3),
                        input_size=INPUT_SIZE)
    resized = Target(name=target.name, model=target.model,
                     preprocess=ImagePreprocess(size=INPUT_SIZE, resize=2 * INPUT_SIZE),
                     input_size=INPUT_SIZE)
    variants = {
        "layer": AtlasKey.of(target, "pool", gen),
        "reduction": AtlasKey.of(target, LAYER, gen, "max"),
        "generator size 64": AtlasKey.of(target, LAYER, ProceduralGenerator(size=64)),
        "generator size 224": AtlasKey.of(target, LAYER, ProceduralGenerator(size=224)),
        "weights": AtlasKey.of(make_target(perturbed, INPUT_SIZE), LAYER, gen),
        "model name": AtlasKey.of(make_target(FixedConvNet(), INPUT_SIZE, "other"), LAYER, gen),
        "normalisation": AtlasKey.of(normalised, LAYER, gen),
        "resize before crop": AtlasKey.of(resized, LAYER, gen),
    }
    digests = [key.digest] + [k.digest for k in variants.values()]
    assert len(set(digests)) == len(digests), variants
    assert variants["weights"].model_weights != key.model_weights
    assert variants["normalisation"].preprocess != key.preprocess
    assert json.loads(variants["generator size 64"].generator_settings)["size"] == 64


class _Deep(nn.Module):
    """More than 200 state-dict tensors: a frozen stem, then a head at the end."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.stem = nn.Sequential(*[nn.Linear(2, 2) for _ in range(101)])  # 202 tensors
        self.head = nn.Linear(3, 3)

    def forward(self, x):
        return self.head(x.mean(dim=(2, 3)))


def _perturb_late_tensor():
    model = _Deep()
    with torch.no_grad():
        model.head.weight.add_(1.0)
    return model


def _perturb_late_value():
    model = nn.Sequential(nn.Conv2d(3, 8, 1), nn.Flatten())
    with torch.no_grad():
        model[0].weight[7, 2] += 1.0  # the 24th value of the tensor
    return model


@pytest.mark.parametrize("change", [_perturb_late_tensor, _perturb_late_value],
                         ids=["tensor-after-200", "value-after-16"])
def test_any_weight_change_changes_the_key(change, gen):
    torch.manual_seed(0)
    baseline = _Deep() if change is _perturb_late_tensor else nn.Sequential(
        nn.Conv2d(3, 8, 1), nn.Flatten())
    torch.manual_seed(0)
    changed = change()
    before = AtlasKey.of(make_target(baseline, INPUT_SIZE), "head", gen)
    after = AtlasKey.of(make_target(changed, INPUT_SIZE), "head", gen)
    assert any(not torch.equal(a, b) for a, b in
               zip(baseline.state_dict().values(), changed.state_dict().values(), strict=True))
    assert before.digest != after.digest


# -- 4. two writers at once --------------------------------------------------------------------


def _start(*args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(WORKER), *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_two_writers_with_overlapping_concepts(target, gen, key, tmp_path):
    root = tmp_path / "atlases"
    vocabulary = gen.seed_concepts()[:24]
    shared, only_a, only_b = vocabulary[:10], vocabulary[10:17], vocabulary[17:]
    seeds = [11, 12, 13, 14]
    go = tmp_path / "go"
    workers = [
        _start("measure", root, tmp_path / f"ready-{name}", go, "11,12,13,14", *concepts)
        for name, concepts in (("a", shared + only_a), ("b", shared + only_b))
    ]
    deadline = time.monotonic() + 90
    while not all((tmp_path / f"ready-{n}").exists() for n in "ab"):
        assert all(w.poll() is None for w in workers), [w.communicate() for w in workers]
        assert time.monotonic() < deadline
        time.sleep(0.01)
    go.touch()  # both write from now on
    outputs = [w.communicate(timeout=90) for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    rendered = [json.loads(out)["rendered"] for out, _ in outputs]
    for counts in rendered:
        assert all(n in (0, len(seeds)) for n in counts.values())
    assert sum(sum(c.values()) for c in rendered) >= len(vocabulary) * len(seeds)

    reader = Atlas.open(key, root=root)
    assert sorted(reader.concepts()) == sorted(vocabulary)
    for concept in vocabulary:
        np.testing.assert_array_equal(reader.rows(concept, seeds),
                                      reference_rows(target, gen, concept, seeds))
        assert [e.image for e in reader.lookup(concept, seeds)] == [
            f"images/{n[:2]}/{n}" for n in
            (image_name(i) for i in gen.generate(concept, seeds))]
    shard_dir = reader.folder / "shards"
    assert list(shard_dir.glob("*.corrupt")) == []
    stats = atlas_stats(reader)
    assert stats.concepts == len(vocabulary)
    assert stats.images == len(vocabulary) * len(seeds)
    assert stats.units == UNITS
    assert stats.corrupt == 0 and stats.leftovers == 0
    assert stats.shards == len(list(shard_dir.glob("*.json")))
    assert stats.shards == sum(1 for c in rendered for n in c.values() if n)
    names, owner, rows = reader.table()
    assert rows.shape == (len(vocabulary) * len(seeds), UNITS)
    assert np.bincount(owner).tolist() == [len(seeds)] * len(vocabulary)


# -- 5. a writer killed mid-build -----------------------------------------------------------


@pytest.mark.slow
def test_killed_builder_leaves_a_usable_atlas(target, gen, key, tmp_path):
    root = tmp_path / "atlases"
    count, images = 480, 3  # ten chunks of 48 concepts
    folder = root / key.digest / "shards"
    worker = _start("build", root, count, images)
    deadline = time.monotonic() + 90
    while not (folder.exists() and len(list(folder.glob("*.json"))) >= 3):
        assert worker.poll() is None, worker.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.005)
    assert worker.poll() is None, "the build finished before it could be killed"
    worker.send_signal(signal.SIGKILL)
    worker.communicate(timeout=30)
    assert worker.returncode == -signal.SIGKILL

    # leftovers of a killed writer, made by hand as well: rows without an index, temporaries
    orphan = folder / "20000101T000000-1-deadbeef.npy"
    np.save(orphan, np.ones((2, UNITS), np.float32))
    (folder / ".abc123.tmp").write_bytes(b"{half a json")
    (folder / ".def456.npy").write_bytes(b"\x93NUMPY")
    image_tmp = root / key.digest / "images" / "ab" / ".xyz.png.tmp"
    image_tmp.parent.mkdir(parents=True, exist_ok=True)
    image_tmp.write_bytes(b"\x89PNG")

    reader = Atlas.open(key, root=root)
    shards = reader.shards()
    assert set(shards) == {p.stem for p in folder.glob("*.json")}
    assert orphan.stem not in shards
    committed = reader.concepts()
    vocabulary = procedural_grammar()[:count]
    assert 3 * 48 <= len(committed) < count
    assert len(committed) % 48 == 0  # whole chunks
    assert set(committed) <= set(vocabulary)
    by_concept: dict[str, list[int]] = {}
    for shard_entries in shards.values():
        assert len(shard_entries) == 48 * images
        for e in shard_entries:
            by_concept.setdefault(e.concept, []).append(e.seed)
            assert reader.image_path(e.image).is_file()
    for concept in committed[::7] + committed[-3:]:
        seeds = by_concept[concept]
        np.testing.assert_array_equal(reader.rows(concept, seeds),
                                      reference_rows(target, gen, concept, seeds))
    assert list(folder.glob("*.corrupt")) == []

    stats = atlas_stats(reader)
    assert stats.concepts == len(committed) and stats.images == len(committed) * images
    assert stats.leftovers >= 4 and stats.corrupt == 0
    assert clean(reader) == 0  # leftovers this young may belong to a live writer
    assert clean(reader, age=0) == stats.leftovers
    for path in (orphan, folder / ".abc123.tmp", folder / ".def456.npy", image_tmp):
        assert not path.exists()
    assert atlas_stats(reader).leftovers == 0
    assert set(reader.shards()) == set(shards)  # committed shards untouched

    report = build_atlas(reader, target, LAYER, gen, vocabulary, images_per_concept=images)
    assert report.concepts == count
    assert report.reused == len(committed) * images > 0
    assert report.rendered == (count - len(committed)) * images
    fresh = Atlas.open(key, root=root)
    assert sorted(fresh.concepts()) == sorted(vocabulary)
    assert reader.builds()[-1]["rendered"] == report.rendered


# -- 6. damaged shards ------------------------------------------------------------------------


def _damage(atlas: Atlas, target, gen):
    """Four one-concept shards; the first three then damaged three ways. {concept: index}."""
    concepts = ["red", "blue stripes", "green circles", "yellow"]
    for concept in concepts:
        measure_concepts([(concept, [1, 2, 3])], gen, target, LAYER, atlas=atlas)
    found = {}
    for path in index_files(atlas):
        found[json.loads(path.read_text())["entries"][0][0]] = path
    garbage, truncated, misshapen, _ = (found[c] for c in concepts)
    garbage.write_text('{"units": 3, "entries": [["red", 1')
    npy = truncated.with_suffix(".npy")
    npy.write_bytes(npy.read_bytes()[:-8])
    np.save(misshapen.with_suffix(".npy"), np.zeros((3, UNITS + 1), np.float32))
    return concepts, [garbage, truncated, misshapen]


def test_damaged_shards_are_set_aside_and_recomputed(target, gen, atlas):
    concepts, damaged = _damage(atlas, target, gen)
    reader = Atlas.open(atlas.key, root=atlas.folder.parent)
    assert reader.lookup("red", [1, 2, 3]) == [None, None, None]
    assert reader.concepts() == ["yellow"]
    for index in damaged:
        assert not index.exists() and not index.with_suffix(".npy").exists()
        assert index.with_name(index.name + ".corrupt").exists()
        assert index.with_suffix(".npy.corrupt").exists()
    stats = atlas_stats(reader)
    assert stats.corrupt > 0 and stats.concepts == 1 and stats.images == 3

    results = measure_concepts([(c, [1, 2, 3]) for c in concepts], gen, target, LAYER,
                               atlas=reader)
    assert [r.rendered for r in results] == [3, 3, 3, 0]
    for result in results:
        np.testing.assert_array_equal(result.rows,
                                      reference_rows(target, gen, result.concept, [1, 2, 3]))
    assert sorted(Atlas.open(atlas.key, root=atlas.folder.parent).concepts()) == sorted(concepts)

    corrupt_files = list((atlas.folder / "shards").glob("*.corrupt"))
    assert clean(reader) == len(corrupt_files) == 6
    assert list((atlas.folder / "shards").glob("*.corrupt")) == []
    assert atlas_stats(reader).corrupt == 0


def test_index_without_rows_is_set_aside(atlas, target, gen):
    measure_concepts([("red", [1, 2])], gen, target, LAYER, atlas=atlas)
    (index,) = index_files(atlas)
    index.with_suffix(".npy").unlink()
    reader = Atlas.open(atlas.key, root=atlas.folder.parent)
    assert reader.concepts() == []
    assert index.with_name(index.name + ".corrupt").exists()


def test_corrupt_count_is_in_shards(atlas, target, gen):
    measure_concepts([("red", [1, 2])], gen, target, LAYER, atlas=atlas)
    (index,) = index_files(atlas)
    index.write_text("not json")
    assert atlas_stats(Atlas.open(atlas.key, root=atlas.folder.parent)).corrupt == 1


def test_empty_rows_file_is_set_aside(atlas, target, gen):
    measure_concepts([("red", [1, 2])], gen, target, LAYER, atlas=atlas)
    (index,) = index_files(atlas)
    index.with_suffix(".npy").write_bytes(b"")
    reader = Atlas.open(atlas.key, root=atlas.folder.parent)
    assert reader.lookup("red", [1, 2]) == [None, None]
    assert index.with_name(index.name + ".corrupt").exists()


def test_clean_removes_a_killed_key_write(atlas):
    leftover = atlas.folder / ".k3y8zq.tmp"  # what _write_atomic(folder / key.json) leaves
    leftover.write_bytes(b'{"generator": ')
    assert clean(atlas, age=0) == 1
    assert not leftover.exists()


# -- 7. ranking ------------------------------------------------------------------------------


def test_rank_concepts_matches_scoring_auc(key, tmp_path):
    atlas = Atlas.open(key, root=tmp_path)
    assert rank_concepts(atlas, 0, np.arange(5.0)) == []
    rng = np.random.default_rng(7)
    counts = {"c0": 3, "c1": 2, "c2": 1, "c3": 5, "c4": 4, "c5": 2, "c6": 3}
    truth: dict[str, np.ndarray] = {}
    for half in (0, 1):  # each concept's rows spread over two shards
        batch, rows = [], []
        for concept, n in counts.items():
            seeds = [s for s in range(n) if s % 2 == half]
            values = rng.integers(0, 6, size=(len(seeds), 4)).astype(np.float32)
            batch += entries(concept, seeds)
            rows.append(values)
            truth[concept] = np.concatenate([truth.get(concept, np.zeros((0, 4))), values])
        atlas.add(batch, np.concatenate(rows))
    # a flagged image with huge values must not count
    atlas.add(entries("c0", [99], flagged={99}), np.full((1, 4), 1e6, np.float32))
    control = rng.integers(0, 6, size=40).astype(np.float64)  # integers: many ties

    for unit in range(4):
        ranks = rank_concepts(atlas, unit, control)
        assert sorted(r.concept for r in ranks) == sorted(
            c for c, n in counts.items() if n >= MIN_ROWS)
        for r in ranks:
            values = truth[r.concept][:, unit]
            assert abs(r.auc - scoring.auc(values, control)) <= 1e-12
            assert r.mean_activation == pytest.approx(values.mean(), abs=1e-12)
            assert r.images == counts[r.concept]
        keys = [(-r.auc, -r.mean_activation, r.concept) for r in ranks]
        assert keys == sorted(keys)
        assert ranks[0].auc == max(r.auc for r in ranks)
    with pytest.raises(IndexError):
        rank_concepts(atlas, 4, control)


# -- 8. upkeep ---------------------------------------------------------------------------------


def test_compact_merges_small_shards(key, tmp_path, shard_stamps):
    root = tmp_path / "atlases"
    writer = Atlas.open(key, root=root)
    expected = {}
    for i in range(5):
        rows = np.arange(6, dtype=np.float32).reshape(2, 3) + 10 * i
        writer.add(entries(f"c{i}", [1, 2], flagged={2} if i == 4 else ()), rows)
        expected[f"c{i}"] = rows
    writer.add(entries("c0", [1]), np.full((1, 3), -5, np.float32))  # a repeat: first wins
    old = Atlas.open(key, root=root)
    assert len(old.concepts()) == 5  # has read every old shard
    assert compact(writer, above=10) == 0
    assert len(index_files(writer)) == 6

    assert compact(writer, above=2) == 6
    assert len(index_files(writer)) == 1
    assert len(list((writer.folder / "shards").glob("*.npy"))) == 1
    fresh = Atlas.open(key, root=root)
    assert sorted(fresh.concepts()) == sorted(expected)
    for reader in (fresh, old):
        for concept, rows in expected.items():
            np.testing.assert_array_equal(reader.rows(concept, [1, 2]), rows)
        assert reader.lookup("c4", [2])[0].flagged
        assert sorted(reader.concepts()) == sorted(expected)
        names, owner, rows = reader.table()
        assert rows.shape == (9, 3) and -5 not in rows
    (merged,) = fresh.shards().values()
    assert len(merged) == 10
    assert atlas_stats(fresh).shards == 1


def test_compact_with_a_stale_atlas_object(key, tmp_path):
    writer = Atlas.open(key, root=tmp_path)
    for i in range(4):
        writer.add(entries(f"c{i}", [1]), np.full((1, 3), i, np.float32))
    assert len(writer.concepts()) == 4  # the writer has seen its shards
    assert compact(Atlas.open(key, root=tmp_path), above=2) == 4  # another process compacts
    for i in range(3):
        writer.add(entries(f"d{i}", [1]), np.full((1, 3), i, np.float32))
    compact(writer, above=2)  # must not raise
    assert len(index_files(writer)) == 1


def _filled_atlas(root: Path, layer: str, rows: int) -> Atlas:
    atlas = Atlas.open(AtlasKey("g", "{}", "m", "w", layer, "auto", "p"), root=root)
    atlas.add(entries("red", list(range(rows))), np.ones((rows, 64), np.float32))
    return atlas


def test_prune_removes_least_recently_used_first(tmp_path):
    root = tmp_path / "atlases"
    now = time.time()
    old, middle, recent = (_filled_atlas(root, name, 50) for name in ("old", "mid", "new"))
    for atlas, age in ((old, 300), (middle, 200), (recent, 100)):
        os.utime(atlas.folder / ".last-used", (now - age, now - age))
    sizes = {a.folder: atlas_stats(a).bytes for a in (old, middle, recent)}
    total = sum(sizes.values())

    assert prune(root, max_bytes=total) == []
    assert prune(root, max_bytes=total - 1) == [old.folder]
    assert not old.folder.exists() and middle.folder.exists() and recent.folder.exists()
    assert prune(root, max_bytes=sizes[recent.folder]) == [middle.folder]
    assert recent.folder.exists()

    os.utime(recent.folder / ".last-used", (now - 3 * 86400, now - 3 * 86400))
    assert prune(root, older_than_days=5) == []
    assert prune(root, older_than_days=2) == [recent.folder]
    assert prune(root, max_bytes=0) == []


def test_prune_to_zero_removes_everything(tmp_path):
    root = tmp_path / "atlases"
    folders = [_filled_atlas(root, name, 5).folder for name in ("a", "b")]
    assert sorted(prune(root, max_bytes=0)) == sorted(folders)
    assert list(root.iterdir()) == []


@pytest.mark.parametrize(("text", "expected"), [
    ("500MB", 500 * 2**20), ("2 GB", 2 * 2**30), ("1024", 1024), ("750k", 750 * 1024),
    (" 1.5 gb ", int(1.5 * 2**30)), ("0", 0), ("3TB", 3 * 2**40), ("12b", 12),
])
def test_parse_size(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "lots", "MB", "-1MB", "5 XB", "5mbb", "1,5GB", "GB5"])
def test_parse_size_rejects(text):
    with pytest.raises(ConfigError, match="not understood"):
        parse_size(text)


@pytest.mark.parametrize("text", ["nan", "inf", "1e999GB"])
def test_parse_size_rejects_non_finite(text):
    with pytest.raises(ConfigError):
        parse_size(text)


# -- 9. the CLI --------------------------------------------------------------------------------


def line(*args, env=None):
    return subprocess.run([sys.executable, "-m", "line_core.cli", *args], capture_output=True,
                          text=True, timeout=600, env=env)


def _assert_one_line_error(result, *words):
    assert result.returncode == 2, result.stderr
    lines = [ln for ln in result.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0]


@pytest.mark.slow
def test_cli_build_stats_prune(tmp_path):
    atlases = tmp_path / "cli-atlases"
    env = {**os.environ, "LINE_ATLAS_DIR": str(atlases)}
    concepts = ["red", "blue stripes", "green circles", "yellow checkerboard", "purple dots",
                "orange", "black and white stripes", "pink stars"]
    vocabulary = tmp_path / "vocabulary.txt"
    vocabulary.write_text("# eight concepts\n" + "\n".join(concepts) + "\n\nred\n")
    build = ["atlas", "build", "--model", "planted", "--layer", "units", "--vocabulary",
             str(vocabulary), "--images-per-concept", "2", "--json"]

    first = line(*build, env=env)
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert (report["concepts"], report["rendered"], report["reused"]) == (8, 16, 0)
    assert report["model"] == "planted" and report["layer"] == "units"
    assert "8 concepts" in report["vocabulary"]
    folder = Path(report["atlas"])
    assert folder.parent == atlases

    again = json.loads(line(*build, env=env).stdout)
    assert (again["concepts"], again["rendered"], again["reused"]) == (8, 0, 16)

    stats = line("atlas", "stats", "--json", env=env)
    assert stats.returncode == 0, stats.stderr
    (entry,) = json.loads(stats.stdout)["atlases"]
    assert (entry["concepts"], entry["images"], entry["units"]) == (8, 16, 14)
    assert entry["folder"] == str(folder) and entry["title"] == "planted / units / procedural"
    assert [b["rendered"] for b in entry["builds"]] == [16, 0]

    _assert_one_line_error(line("atlas", "build", "--model", "planted", "--layer", "units",
                                "--vocabulary", str(tmp_path / "missing.txt"), env=env),
                           "missing.txt", "does not exist")
    _assert_one_line_error(line("atlas", "build", "--model", "planted", "--layer", "nope",
                                "--vocabulary", str(vocabulary), env=env), "nope")
    assert [p.name for p in atlases.iterdir()] == [folder.name]  # errors wrote nothing

    pruned = line("atlas", "prune", "--max-size", "0", env=env)
    assert pruned.returncode == 0, pruned.stderr
    assert f"removed {folder}" in pruned.stdout
    assert not folder.exists()
    assert list(atlases.iterdir()) == []


def test_missing_vocabulary_file_is_named(gen, tmp_path):
    from line_core.atlas.vocabulary import resolve_vocabulary

    deep = tmp_path / "projects" / "neuron-labels" / "vocabularies"
    deep.mkdir(parents=True)
    with pytest.raises(ConfigError, match="concepts-v2.txt"):
        resolve_vocabulary(str(deep / "concepts-v2.txt"), gen)


def test_engine_door_build_stats_prune(target, gen, key, tmp_path, _own_atlas_dir):
    from line_core.engine import atlas as door

    vocabulary = tmp_path / "vocabulary.txt"
    concepts = procedural_grammar()[:50]
    vocabulary.write_text("\n".join(concepts))
    with pytest.raises(ConfigError, match="images-per-concept"):
        door.build(target, LAYER, gen, str(vocabulary), images_per_concept=1)
    with pytest.raises(ConfigError, match="'nope' is not a readable layer"):
        door.build(target, "nope", gen, str(vocabulary), images_per_concept=2)
    assert not _own_atlas_dir.exists() or not any(_own_atlas_dir.iterdir())

    progress = []
    built = door.build(target, LAYER, gen, str(vocabulary), images_per_concept=2,
                       progress=lambda done, total: progress.append((done, total)))
    assert built.atlas.folder == _own_atlas_dir / key.digest
    assert (built.report.concepts, built.report.rendered, built.report.reused) == (50, 100, 0)
    assert progress == [(48, 50), (50, 50)]
    summary = door.summary(built.atlas)
    assert (summary.concepts, summary.built, summary.digest) == (50, True, key.digest)
    assert summary.vocabulary == built.vocabulary and "50 concepts" in built.vocabulary
    again = door.build(target, LAYER, gen, str(vocabulary), images_per_concept=2)
    assert (again.report.rendered, again.report.reused) == (0, 100)

    (stats,) = door.stats()
    assert (stats.concepts, stats.images, stats.units, stats.shards) == (50, 100, UNITS, 2)
    assert [b["rendered"] for b in stats.builds] == [100, 0]
    assert door.prune(max_bytes=10**12) == ([], 0)
    removed, _ = door.prune(max_bytes=0)
    assert removed == [built.atlas.folder] and not built.atlas.folder.exists()


# -- 10. run folders stay self-contained -------------------------------------------------------


def test_run_image_survives_the_atlas(target, gen, atlas, tmp_path):
    import shutil

    (result,) = measure_concepts([("pink stars", [1, 2])], gen, target, LAYER, atlas=atlas)
    run = RunStore(tmp_path / "run")
    run.run_dir.mkdir()
    rels = [run.add_image_file(path) for path in result.files]
    assert rels == [f"images/{p.name}" for p in result.files]
    assert run.add_image_file(result.files[0]) == rels[0]  # a second time: nothing changes
    assert os.path.samefile(run.image_path(rels[0]), result.files[0])  # a hard link, no copy
    expected = [np.asarray(img) for img in gen.generate("pink stars", [1, 2])]
    shutil.rmtree(atlas.folder)
    for rel, pixels in zip(rels, expected, strict=True):
        np.testing.assert_array_equal(np.asarray(run.load_image(rel)), pixels)
