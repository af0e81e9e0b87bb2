"""Synthetic but realistic run folders for tests: written through RunStore and real events.

A run has a seed-vocabulary initial pool (iteration 0), proposal iterations from several
sources, a summary iteration and a finished event; every concept has small real PNG images
drawn from its words (colour and pattern) and activations drawn from a per-concept level, so
scores come from :func:`line_core.scoring.score_activations` as in a real run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
from PIL import Image

from line_core.events import (
    ConceptProposed,
    ConceptScored,
    ImagesGenerated,
    IterationDone,
    PoolUpdated,
    RunFinished,
    RunStarted,
)
from line_core.scoring import score_activations
from line_core.store import RunStore

SEED_VOCAB = [
    "blue sky", "green grass", "yellow checkerboard", "a golden retriever", "polka dots",
    "brick wall", "white clouds", "wooden table", "orange circles", "purple waves",
]  # fmt: skip
LOW_LEVEL = {  # mean activation (control has mean 1, sd 1)
    "blue sky": 0.9, "green grass": 1.1, "yellow checkerboard": 1.4, "a golden retriever": 0.6,
    "polka dots": 1.5, "brick wall": 1.7, "white clouds": 0.7, "wooden table": 1.0,
    "orange circles": 1.8, "purple waves": 1.2, "blue squares": 1.0, "green triangles": 0.9,
    "pink flowers": 1.6, "horizontal lines": 1.2,
}  # fmt: skip

# (iteration, concept, source, level) of the proposal iterations; the last is the summary.
SCHEDULES: dict[str, list[tuple[str, str, float]]] = {
    "mono": [
        ("red", "llm", 4.6),
        ("blue squares", "llm", 1.0),
        ("crimson", "lexicon", 4.4),
        ("green triangles", "llm", 0.9),
        ("red stripes", "llm", 4.2),
        ("pink flowers", "user", 1.6),
        ("scarlet dots", "lexicon", 4.0),
        ("horizontal lines", "llm", 1.2),
        ("red color", "summary", 4.5),
    ],
    "or": [
        ("red", "llm", 4.6),
        ("blue squares", "llm", 1.0),
        ("vertical stripes", "lexicon", 3.4),
        ("crimson", "llm", 4.4),
        ("green triangles", "llm", 0.9),
        ("vertical bars", "user", 3.2),
        ("pink flowers", "llm", 1.6),
        ("horizontal lines", "llm", 1.2),
        ("red and stripes", "summary", 1.3),
    ],
}
SPREAD = 0.45
N_IMAGES = 5
N_CONTROL = 40

COLOURS = {
    "red": (215, 30, 35), "crimson": (165, 15, 45), "scarlet": (250, 36, 0),
    "blue": (40, 80, 210), "green": (40, 160, 60), "yellow": (240, 210, 40),
    "orange": (245, 140, 30), "purple": (130, 50, 160), "pink": (240, 140, 180),
    "white": (235, 235, 235), "brick": (160, 70, 50), "wooden": (150, 105, 60),
    "golden": (210, 160, 60), "sky": (120, 170, 230), "grass": (60, 150, 50),
}  # fmt: skip


def _seed(*parts: object) -> int:
    return int(hashlib.sha256(repr(parts).encode()).hexdigest()[:8], 16)


def concept_image(concept: str, index: int, size: int = 48) -> Image.Image:
    """A small image drawn from a concept's words: colour, then stripes/bars/dots/checks."""
    rng = np.random.default_rng(_seed(concept, index))
    words = concept.lower().split()
    colour = next((COLOURS[w] for w in words if w in COLOURS), None)
    fg = np.array(colour if colour else rng.integers(30, 230, 3), dtype=np.float64)
    bg = np.array([235.0, 235.0, 235.0]) if colour or "stripes" in words else 255 - fg
    yy, xx = np.mgrid[0:size, 0:size]
    shift = int(rng.integers(0, 8))
    if "stripes" in words or "bars" in words:
        width = 4 if "stripes" in words else 8
        axis = yy if "horizontal" in words else xx
        mask = ((axis + shift) // width) % 2 == 0
    elif "dots" in words or "circles" in words:
        mask = ((xx + shift) % 12 - 6) ** 2 + ((yy + shift) % 12 - 6) ** 2 < 12
    elif "checkerboard" in words or "squares" in words:
        mask = (((xx + shift) // 8) + ((yy + shift) // 8)) % 2 == 0
    elif "lines" in words:
        mask = ((yy + shift) % 10) < 2
    else:
        mask = np.ones((size, size), dtype=bool)
    pixels = np.where(mask[..., None], fg, bg)
    pixels = pixels + rng.normal(0, 12, pixels.shape)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def _score_concept(
    store: RunStore,
    iteration: int,
    concept: str,
    source: str,
    level: float,
    control: np.ndarray,
    reasoning: str = "",
) -> ConceptScored:
    rng = np.random.default_rng(_seed("act", concept))
    seeds = [_seed("img", concept, i) % 2**31 for i in range(N_IMAGES)]
    images = [store.save_image(concept_image(concept, i)) for i in range(N_IMAGES)]
    store.append(
        ConceptProposed(iteration=iteration, concept=concept, source=source, reasoning=reasoning)
    )
    store.append(
        ImagesGenerated(
            iteration=iteration,
            concept=concept,
            prompts=[f"A realistic photo of a {concept}"] * N_IMAGES,
            seeds=seeds,
            images=images,
            seconds=0.01,
        )
    )
    activations = [round(float(v), 6) for v in level + rng.normal(0, SPREAD, N_IMAGES)]
    score = score_activations(activations, control, seed=_seed("boot", concept) % 2**31)
    event = ConceptScored(
        iteration=iteration,
        concept=concept,
        source=source,
        activations=activations,
        images=images,
        **asdict(score),
    )
    store.append(event)
    return event


def _best(scored: Sequence[ConceptScored]) -> ConceptScored:
    return max(scored, key=lambda e: (round(e.auc, 9), e.mad))


def write_run(
    root: Path | str,
    kind: str = "mono",
    *,
    level_overrides: dict[str, float] | None = None,
    finished: bool = True,
) -> Path:
    """Write a synthetic run folder under ``root`` and return its path.

    ``kind`` is ``mono`` (one red-ish meaning) or ``or`` (red-ish OR vertical stripes);
    ``level_overrides`` changes a concept's mean activation (e.g. to equalise two meanings).
    """
    schedule = [
        (concept, source, (level_overrides or {}).get(concept, level))
        for concept, source, level in SCHEDULES[kind]
    ]
    control = np.random.default_rng(_seed("control", kind)).normal(1.0, 1.0, N_CONTROL)
    manifest = {
        "format": 1,
        "config": {"model": "synthetic", "layer": "_conv_head", "neuron": 7, "seed": 42},
        "control": {
            "description": f"{N_CONTROL} synthetic control images",
            "size": N_CONTROL,
            "skipped": 0,
            "activations": [round(float(v), 6) for v in control],
        },
    }
    store = RunStore.create(root, manifest, name=f"synthetic-{kind}")
    store.append(
        RunStarted(
            model="synthetic",
            layer="_conv_head",
            neuron=7,
            generator="procedural",
            proposer="fixture",
            iterations=len(schedule) - 1,
        )
    )
    scored = [
        _score_concept(store, 0, c, "seed", LOW_LEVEL[c], control, "seed") for c in SEED_VOCAB
    ]
    pool = [e.concept for e in sorted(scored, key=lambda e: (e.auc, e.mad), reverse=True)]
    store.append(PoolUpdated(iteration=0, pool=pool, added="", removed=None))
    best = _best(scored)
    store.append(IterationDone(0, best.concept, best.auc, best.mad, seconds=0.5))
    for iteration, (concept, source, level) in enumerate(schedule, start=1):
        why = f"the pool's best is {best.concept}; try {concept}"
        event = _score_concept(store, iteration, concept, source, level, control, why)
        scored.append(event)
        by_name = {e.concept: e for e in scored}
        worst = min(pool, key=lambda c: (by_name[c].auc, by_name[c].mad))
        pool = [c for c in pool if c != worst] + [concept]
        store.append(PoolUpdated(iteration=iteration, pool=pool, added=concept, removed=worst))
        best = _best(scored)
        store.append(IterationDone(iteration, best.concept, best.auc, best.mad, seconds=0.4))
    if finished:
        store.append(RunFinished(label=best.concept, auc=best.auc, mad=best.mad, seconds=9.0))
    return store.run_dir


def trigram_embedder(texts: Sequence[str]) -> np.ndarray:
    """A cheap deterministic text embedder (hashed character trigrams) for fast tests."""
    out = np.zeros((len(texts), 256))
    for row, text in enumerate(texts):
        padded = f"  {text.lower()} "
        for i in range(len(padded) - 2):
            out[row, _seed(padded[i : i + 3]) % 256] += 1.0
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms > 0, norms, 1.0)
