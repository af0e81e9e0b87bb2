"""Synthetic histories for the polysemanticity mechanism tests (in memory, no run folder).

The analysis is calibrated on histories whose activation levels are set by hand (a red-only
unit, a red-OR-stripes unit, one with equal drivers), folded by the record's own
``build_history`` from real event types. Run FOLDERS for tests come from the real loop
(``tests/planted_runs.py``), never from here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from line_core.record.events import (
    ConceptProposed,
    ConceptScored,
    IterationDone,
    PoolUpdated,
    RunFinished,
    RunStarted,
)
from line_core.record.history import RunHistory, build_history
from line_core.scoring import score_activations

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

def _seed(*parts: object) -> int:
    return int(hashlib.sha256(repr(parts).encode()).hexdigest()[:8], 16)


def _score_concept(
    events: list, iteration: int, concept: str, source: str, level: float, control: np.ndarray,
    reasoning: str = "",
) -> ConceptScored:
    rng = np.random.default_rng(_seed("act", concept))
    images = [f"images/{_seed('img', concept, i):x}.png" for i in range(N_IMAGES)]
    events.append(
        ConceptProposed(iteration=iteration, concept=concept, source=source, reasoning=reasoning)
    )
    activations = [round(float(v), 6) for v in level + rng.normal(0, SPREAD, N_IMAGES)]
    score = score_activations(activations, control, seed=_seed("boot", concept) % 2**31)
    event = ConceptScored.of(iteration, concept, source, score, activations, images)
    events.append(event)
    return event


def _best(scored: Sequence[ConceptScored]) -> ConceptScored:
    return max(scored, key=lambda e: e.score.rank_key)


def synthetic_history(
    kind: str = "mono", *, level_overrides: dict[str, float] | None = None
) -> tuple[RunHistory, np.ndarray]:
    """(history, control activations) of a synthetic run: ``mono`` (red) or ``or`` (red OR
    vertical stripes); ``level_overrides`` changes a concept's mean activation."""
    schedule = [
        (concept, source, (level_overrides or {}).get(concept, level))
        for concept, source, level in SCHEDULES[kind]
    ]
    control = np.random.default_rng(_seed("control", kind)).normal(1.0, 1.0, N_CONTROL)
    events: list = [
        RunStarted(model="synthetic", layer="_conv_head", neuron=7, generator="procedural",
                   proposer="fixture", iterations=len(schedule) - 1)
    ]
    scored = [
        _score_concept(events, 0, c, "seed", LOW_LEVEL[c], control, "seed") for c in SEED_VOCAB
    ]
    pool = [e.concept for e in sorted(scored, key=lambda e: e.score.rank_key, reverse=True)]
    events.append(PoolUpdated(iteration=0, pool=pool, added="", removed=None))
    best = _best(scored)
    events.append(IterationDone(0, best.concept, best.auc, best.mad, seconds=0.5))
    for iteration, (concept, source, level) in enumerate(schedule, start=1):
        why = f"the pool's best is {best.concept}; try {concept}"
        scored.append(_score_concept(events, iteration, concept, source, level, control, why))
        by_name = {e.concept: e for e in scored}
        worst = min(pool, key=lambda c: by_name[c].score.rank_key)
        pool = [c for c in pool if c != worst] + [concept]
        events.append(PoolUpdated(iteration=iteration, pool=pool, added=concept, removed=worst))
        best = _best(scored)
        events.append(IterationDone(iteration, best.concept, best.auc, best.mad, seconds=0.4))
    events.append(RunFinished(label=best.concept, auc=best.auc, mad=best.mad, seconds=9.0))
    return build_history(events), control


def trigram_embedder(texts: Sequence[str]) -> np.ndarray:
    """A cheap deterministic text embedder (hashed character trigrams) for fast tests."""
    out = np.zeros((len(texts), 256))
    for row, text in enumerate(texts):
        padded = f"  {text.lower()} "
        for i in range(len(padded) - 2):
            out[row, _seed(padded[i : i + 3]) % 256] += 1.0
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms > 0, norms, 1.0)
