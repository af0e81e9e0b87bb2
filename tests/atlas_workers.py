"""Subprocess workers for the atlas store tests (``python tests/atlas_workers.py ACTION ...``).

Every worker builds the same tiny real components as the tests (:func:`parts`), so an atlas
written here has the same key as the one the test process opens.

* ``measure ROOT READY GO SEEDS CONCEPT...``: open the atlas, create READY, wait for GO, then
  measure each concept alone (one committed shard per concept); print one JSON line
  ``{"rendered": {concept: n}}``.
* ``build ROOT COUNT IMAGES``: build the first COUNT concepts of the procedural grammar with
  ``build_atlas``, pausing briefly after each committed chunk (so a test can kill it half-way).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

LAYER = "conv"
IMAGE_SIZE = 32
INPUT_SIZE = 8


def parts():
    """(target, generator): FixedConvNet at 8x8 and the procedural renderer at 32x32."""
    from helpers_models import FixedConvNet, make_target

    from line_core.generators.procedural.generator import ProceduralGenerator

    return make_target(FixedConvNet(), INPUT_SIZE), ProceduralGenerator(size=IMAGE_SIZE)


def open_atlas(root: Path):
    """The atlas of :func:`parts` at ``LAYER`` under ``root``."""
    from line_core.atlas import Atlas, AtlasKey

    target, generator = parts()
    return Atlas.open(AtlasKey.of(target, LAYER, generator), root=root), target, generator


def _wait_for(path: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for {path}")
        time.sleep(0.005)


def measure(root: str, ready: str, go: str, seeds: str, *concepts: str) -> None:
    from line_core.atlas.measure import measure_concepts

    atlas, target, generator = open_atlas(Path(root))
    seed_list = [int(s) for s in seeds.split(",")]
    Path(ready).touch()
    _wait_for(Path(go))
    rendered = {}
    for concept in concepts:
        (result,) = measure_concepts([(concept, seed_list)], generator, target, LAYER,
                                     atlas=atlas)
        rendered[concept] = result.rendered
    print(json.dumps({"rendered": rendered}), flush=True)


def build(root: str, count: str, images: str) -> None:
    from line_core.atlas.build import build_atlas
    from line_core.atlas.vocabulary import procedural_grammar

    atlas, target, generator = open_atlas(Path(root))
    vocabulary = procedural_grammar()[: int(count)]

    def pause(done: int, total: int) -> None:
        time.sleep(0.15)

    report = build_atlas(atlas, target, LAYER, generator, vocabulary,
                         images_per_concept=int(images), progress=pause)
    print(json.dumps({"rendered": report.rendered, "reused": report.reused}), flush=True)


if __name__ == "__main__":
    action, *arguments = sys.argv[1:]
    {"measure": measure, "build": build}[action](*arguments)
