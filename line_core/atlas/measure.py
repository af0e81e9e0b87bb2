"""Activation rows of concepts, from the atlas first: render and forward only what is missing.

Every scoring path (the loop, sweeps, atlas builds, find-neurons, re-scores) asks
:func:`measure_concepts` for the full-layer rows of (concept, seeds) requests. Stored pairs are
read back; the missing ones of ALL requests are rendered, forwarded in one batch per
``batch_size`` images, and committed to the atlas as one shard per batch (so a build killed
half-way keeps what it finished). Without an atlas (``--no-atlas``) the same function renders
and forwards everything and keeps nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from line_core.atlas.store import Atlas, AtlasEntry
from line_core.errors import BackendError
from line_core.generators.base import ImageGenerator
from line_core.probe import layer_activations
from line_core.targets.base import Target

Timed = Callable[[str], AbstractContextManager[None]]


def _untimed(_: str) -> AbstractContextManager[None]:
    return nullcontext()


@dataclass
class ConceptRows:
    """The measured images of one concept: usable seeds, their rows, where the images are.

    ``files`` (atlas paths) is set when the images are stored in the atlas, ``pictures`` (the
    rendered images) when there is no atlas. ``dropped`` are indices of requested seeds the
    generator blacked out (never scored). ``seconds`` is the rendering time spent now (0 when
    everything came from the atlas).
    """

    concept: str
    seeds: list[int]
    rows: np.ndarray
    files: list[Path] | None = None
    pictures: list[Image.Image] | None = None
    dropped: list[int] = field(default_factory=list)
    seconds: float = 0.0
    rendered: int = 0


@dataclass
class _Render:
    concept: str
    seed: int
    image: Image.Image | None
    flagged: bool


def flagged_indices(generator: ImageGenerator, count: int) -> set[int]:
    """Indices of the last ``generate`` call's images a safety checker blacked out."""
    return {i for i in (getattr(generator, "last_flagged", None) or []) if 0 <= i < count}


def _render(generator: ImageGenerator, concept: str, seeds: Sequence[int],
            timed: Timed) -> tuple[list[_Render], float]:
    started = time.perf_counter()
    with timed("generate"):
        images = generator.generate(concept, list(seeds))
    flagged = flagged_indices(generator, len(images))
    renders = [_Render(concept, int(s), img, i in flagged)
               for i, (s, img) in enumerate(zip(seeds, images, strict=True))]
    return renders, time.perf_counter() - started


def _forward(target: Target, layer: str, images: list[Image.Image], reduction: str,
             timed: Timed) -> np.ndarray:
    with timed("forward"):
        return np.asarray(layer_activations(target, layer, images, reduction=reduction))


def measure_concepts(
    requests: Sequence[tuple[str, Sequence[int]]],
    generator: ImageGenerator,
    target: Target,
    layer: str,
    reduction: str = "auto",
    atlas: Atlas | None = None,
    batch_size: int = 256,
    timed: Timed = _untimed,
    strict: bool = True,
) -> list[ConceptRows]:
    """Full-layer rows of every (concept, seeds) request, in order (see the module doc).

    ``strict``: a concept left with fewer than 2 images after the safety checker is an error
    (a run cannot score it); otherwise it comes back with what is left (a build skips it).
    """
    plans: list[tuple[str, list[int], list[AtlasEntry | None]]] = []
    for concept, seeds in requests:
        seeds = [int(s) for s in seeds]
        found = atlas.lookup(concept, seeds) if atlas is not None else [None] * len(seeds)
        plans.append((concept, seeds, found))
    rendered: dict[tuple[str, int], tuple[_Render, np.ndarray | None]] = {}
    seconds: dict[str, float] = {}
    pending: list[_Render] = []
    for concept, seeds, found in plans:
        missing = [s for s, e in zip(seeds, found, strict=True)
                   if e is None and (concept, s) not in rendered]
        if not missing:
            continue
        renders, spent = _render(generator, concept, missing, timed)
        seconds[concept] = seconds.get(concept, 0.0) + spent
        for item in renders:
            rendered[(concept, item.seed)] = (item, None, "")
        pending.extend(renders)
        if len(pending) >= batch_size:
            _commit(pending, rendered, target, layer, reduction, atlas, timed)
            pending = []
    if pending:
        _commit(pending, rendered, target, layer, reduction, atlas, timed)
    return [_assemble(concept, seeds, found, rendered, atlas, seconds.get(concept, 0.0), strict)
            for concept, seeds, found in plans]


def _commit(batch: list[_Render], rendered: dict, target: Target, layer: str, reduction: str,
            atlas: Atlas | None, timed: Timed) -> None:
    """Forward one batch of new renders, remember their rows, and store them in the atlas."""
    usable = [r for r in batch if not r.flagged]
    values = (_forward(target, layer, [r.image for r in usable], reduction, timed)
              if usable else np.zeros((0, 0), dtype=np.float32))
    units = values.shape[1] if values.size else (atlas.units if atlas is not None else 0)
    rows = np.zeros((len(batch), units), dtype=values.dtype if values.size else np.float32)
    position = 0
    for i, item in enumerate(batch):
        if not item.flagged:
            rows[i] = values[position]
            position += 1
    if atlas is None:
        for i, item in enumerate(batch):
            rendered[(item.concept, item.seed)] = (item, rows[i], "")
        return
    with timed("store"):
        entries = [AtlasEntry(r.concept, r.seed, "" if r.flagged else atlas.save_image(r.image),
                              r.flagged) for r in batch]
        atlas.add(entries, rows)
    for i, (item, entry) in enumerate(zip(batch, entries, strict=True)):
        rendered[(item.concept, item.seed)] = (item, rows[i], entry.image)


def _assemble(concept: str, seeds: list[int], found: list[AtlasEntry | None], rendered: dict,
              atlas: Atlas | None, seconds: float, strict: bool) -> ConceptRows:
    """One concept's result, in seed order, flagged images dropped."""
    kept: list[int] = []
    rows: list[np.ndarray] = []
    files: list[Path] = []
    pictures: list[Image.Image] = []
    dropped: list[int] = []
    fresh = 0
    for index, (seed, entry) in enumerate(zip(seeds, found, strict=True)):
        if entry is not None:
            if entry.flagged:
                dropped.append(index)
                continue
            assert atlas is not None
            rows.append(atlas.rows(concept, [seed])[0])
            files.append(atlas.image_path(entry.image))
            kept.append(seed)
            continue
        item, row, rel = rendered[(concept, seed)]
        fresh += 1
        if item.flagged:
            dropped.append(index)
            continue
        rows.append(np.asarray(row))
        kept.append(seed)
        pictures.append(item.image)
        if atlas is not None:
            files.append(atlas.image_path(rel))
    if strict and len(kept) < min(2, len(seeds)):
        raise BackendError(
            f"the generator blacked out {len(dropped)} of {len(seeds)} images of '{concept}' "
            "(safety checker); rephrase the concept or use another generator"
        )
    return ConceptRows(
        concept=concept,
        seeds=kept,
        rows=np.stack(rows) if rows else np.zeros((0, atlas.units if atlas else 0)),
        files=files if atlas is not None else None,
        pictures=pictures if atlas is None else None,
        dropped=dropped,
        seconds=seconds,
        rendered=fresh,
    )

