"""The concept pool of the LINE loop and its update rule, plus per-concept seed derivation."""

from __future__ import annotations

import random
from collections.abc import Sequence

from line_core.concepts import ScoredConcept, concept_seeds, derive_seed

__all__ = ["concept_seeds", "derive_seed", "sort_pool", "update_pool"]


def sort_pool(pool: Sequence[ScoredConcept]) -> list[ScoredConcept]:
    """Best first."""
    return sorted(pool, key=lambda e: e.rank_key, reverse=True)


def update_pool(
    pool: Sequence[ScoredConcept], new: ScoredConcept, rng: random.Random, size: int = 10
) -> tuple[list[ScoredConcept], str | None]:
    """The reference's pool update; returns the new pool (best first) and the concept removed.

    The new concept always enters. While the pool is not full nothing leaves. Otherwise, if the
    new concept beats the worst, the worst leaves; if not, one old concept leaves at random with
    weight (best AUC - its AUC), so the best is never dropped.
    """
    old = [e for e in pool if e.concept != new.concept]
    if len(old) < size:
        return sort_pool([*old, new]), None
    ranked = sort_pool(old)
    worst = ranked[-1]
    if new.rank_key > worst.rank_key:
        removed = worst
    else:
        best_auc = ranked[0].auc
        candidates = ranked[1:]
        weights = [best_auc - e.auc for e in candidates]
        if sum(weights) <= 0:
            removed = candidates[-1]
        else:
            removed = rng.choices(candidates, weights=weights, k=1)[0]
    kept = [e for e in old if e.concept != removed.concept]
    return sort_pool([*kept, new]), removed.concept
