"""A broad first look at a layer: render a whole vocabulary once and keep every unit's rows.

The images of each concept use the seeds a run with the same ``seed`` and
``images_per_concept`` would use (:func:`line_core.concepts.concept_seeds`), so a later run's
initial pool and every proposal the vocabulary already holds cost no rendering at all. Work
is committed in chunks: a build killed at any moment resumes where it stopped.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from line_core.atlas.measure import measure_concepts
from line_core.atlas.store import Atlas
from line_core.concepts import concept_seeds
from line_core.generators.base import ImageGenerator
from line_core.targets.base import Target

#: Concepts rendered and forwarded per committed chunk.
CHUNK_CONCEPTS = 48

#: An atlas counts as built (runs take their initial pool from it) after a build this large.
MIN_BUILT_CONCEPTS = 50

Progress = Callable[[int, int], None]


def is_built(atlas: Atlas) -> bool:
    """Whether a vocabulary build finished on the atlas (its broad first look exists)."""
    return any(int(b.get("concepts", 0) or 0) >= MIN_BUILT_CONCEPTS for b in atlas.builds())


@dataclass(frozen=True)
class BuildReport:
    """What a build did: concepts asked for, images rendered now, images already stored."""

    concepts: int
    rendered: int
    reused: int
    seconds: float


def build_atlas(
    atlas: Atlas,
    target: Target,
    layer: str,
    generator: ImageGenerator,
    vocabulary: Sequence[str],
    *,
    description: str = "",
    images_per_concept: int = 5,
    seed: int = 42,
    reduction: str = "auto",
    progress: Progress | None = None,
) -> BuildReport:
    """Render and forward every concept of ``vocabulary`` the atlas does not hold yet."""
    started = time.perf_counter()
    concepts = list(dict.fromkeys(c.strip() for c in vocabulary if c.strip()))
    rendered = reused = 0
    for begin in range(0, len(concepts), CHUNK_CONCEPTS):
        chunk = concepts[begin : begin + CHUNK_CONCEPTS]
        requests = [(c, concept_seeds(c, seed, images_per_concept)) for c in chunk]
        for result in measure_concepts(requests, generator, target, layer, reduction,
                                       atlas=atlas, strict=False):
            rendered += result.rendered
            reused += len(result.seeds) + len(result.dropped) - result.rendered
        if progress is not None:
            progress(min(begin + len(chunk), len(concepts)), len(concepts))
    seconds = time.perf_counter() - started
    atlas.record_build({
        "vocabulary": description,
        "concepts": len(concepts),
        "images_per_concept": images_per_concept,
        "seed": seed,
        "rendered": rendered,
        "reused": reused,
        "seconds": round(seconds, 2),
    })
    return BuildReport(len(concepts), rendered, reused, seconds)
