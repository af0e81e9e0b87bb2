"""Method comparison: two runs of the same neuron side by side."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from line_core.analysis.embedding import Embedder, embed_texts
from line_core.concepts import normalise
from line_core.record.history import RunHistory


@dataclass
class RunComparison:
    """Labels, scores, concept overlap and best-so-far curves of two runs (a and b)."""

    label_a: str | None
    label_b: str | None
    auc_a: float
    auc_b: float
    mad_a: float
    mad_b: float
    label_similarity: float
    n_concepts_a: int
    n_concepts_b: int
    shared_concepts: list[str]
    jaccard: float
    semantic_overlap: float
    curve_a: list[tuple[int, float]]
    curve_b: list[tuple[int, float]]


def best_so_far_curve(history: RunHistory) -> list[tuple[int, float]]:
    """Best AUC up to each iteration: from IterationDone events, else from the records."""
    curve = history.best_so_far()
    if curve:
        return curve
    best: dict[int, float] = {}
    running = -np.inf
    for record in sorted(history.records, key=lambda r: r.iteration):
        running = max(running, record.auc)
        best[record.iteration] = float(running)
    return sorted(best.items())


def compare_runs(
    history_a: RunHistory,
    history_b: RunHistory,
    embedder: Embedder | None = None,
    near: float = 0.8,
) -> RunComparison:
    """Compare two runs: labels (and their MiniLM cosine), scores and tried-concept overlap.

    ``jaccard`` counts exact (case-insensitive) shared concepts; ``semantic_overlap`` is the
    fraction of all tried concepts (both runs) that have a neighbour in the other run with
    cosine >= ``near``.
    """
    a_records, b_records = history_a.unique_records(), history_b.unique_records()
    a_names = {normalise(r.concept): r.concept for r in a_records}
    b_names = {normalise(r.concept): r.concept for r in b_records}
    shared = sorted(a_names[k] for k in a_names.keys() & b_names.keys())
    union = a_names.keys() | b_names.keys()
    best_a, best_b = history_a.best(), history_b.best()

    texts = [r.concept for r in a_records] + [r.concept for r in b_records]
    labels = [best_a.concept if best_a else "", best_b.concept if best_b else ""]
    semantic, label_sim = 0.0, 0.0
    if a_records and b_records:
        vectors = embed_texts(texts + labels, embedder)
        va, vb = vectors[: len(a_records)], vectors[len(a_records) : len(texts)]
        cross = va @ vb.T
        hits = int((cross.max(axis=1) >= near).sum() + (cross.max(axis=0) >= near).sum())
        semantic = hits / len(texts)
        label_sim = float(vectors[-2] @ vectors[-1])
    return RunComparison(
        label_a=best_a.concept if best_a else None,
        label_b=best_b.concept if best_b else None,
        auc_a=best_a.auc if best_a else 0.0,
        auc_b=best_b.auc if best_b else 0.0,
        mad_a=best_a.mad if best_a else 0.0,
        mad_b=best_b.mad if best_b else 0.0,
        label_similarity=label_sim,
        n_concepts_a=len(a_records),
        n_concepts_b=len(b_records),
        shared_concepts=shared,
        jaccard=len(shared) / len(union) if union else 0.0,
        semantic_overlap=semantic,
        curve_a=best_so_far_curve(history_a),
        curve_b=best_so_far_curve(history_b),
    )
