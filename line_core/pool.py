"""The concept pool of the LINE loop and its update rule, plus per-concept seed derivation."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class PoolEntry:
    """A concept in the pool with its ranking score."""

    concept: str
    auc: float
    mad: float = 0.0

    @property
    def rank_key(self) -> tuple[float, float]:
        """AUC first, MAD breaks ties."""
        return (round(self.auc, 9), self.mad)


def sort_pool(pool: Sequence[PoolEntry]) -> list[PoolEntry]:
    """Best first."""
    return sorted(pool, key=lambda e: e.rank_key, reverse=True)


def update_pool(
    pool: Sequence[PoolEntry], new: PoolEntry, rng: random.Random, size: int = 10
) -> tuple[list[PoolEntry], str | None]:
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


def derive_seed(*parts: object) -> int:
    """A stable 31-bit seed from any parts (same parts, same seed, on every machine)."""
    text = "\x1f".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") & 0x7FFFFFFF


def concept_seeds(concept: str, run_seed: int, count: int) -> list[int]:
    """Image seeds for a concept: different per concept, reproducible per (concept, run seed)."""
    key = " ".join(concept.lower().split())
    return [derive_seed("image", run_seed, key, i) for i in range(count)]
