"""Every atlas concept scored for one unit at once: the broad first look behind a run's pool.

A concept's AUC against the unit's control activations is computed exactly as
:func:`line_core.scoring.auc` does (ties count half), for all concepts in one vectorised pass
over the atlas's rows, so ranking a 1,000-concept atlas for a unit costs milliseconds and no
rendering.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from line_core.atlas.store import Atlas

#: Concepts with fewer stored images are not ranked (a single control render is no evidence).
MIN_ROWS = 2


@dataclass(frozen=True)
class AtlasRank:
    """One concept's standing for a unit in the atlas (on the images the atlas holds)."""

    concept: str
    auc: float
    mean_activation: float
    images: int


def rank_concepts(atlas: Atlas, unit: int, control: np.ndarray) -> list[AtlasRank]:
    """Every atlas concept with at least :data:`MIN_ROWS` images, best for ``unit`` first.

    Ranked by AUC against ``control`` (the unit's control activations), ties by mean
    activation, then by concept text so the order is deterministic.
    """
    concepts, owner, rows = atlas.table()
    if rows.shape[0] == 0:
        return []
    if not 0 <= unit < rows.shape[1]:
        raise IndexError(f"unit {unit} is outside the atlas's {rows.shape[1]} units")
    values = np.asarray(rows[:, unit], dtype=np.float64)
    reference = np.sort(np.asarray(control, dtype=np.float64))
    below = np.searchsorted(reference, values, side="left")
    tied = np.searchsorted(reference, values, side="right") - below
    wins = below + 0.5 * tied
    counts = np.bincount(owner, minlength=len(concepts))
    totals = np.bincount(owner, weights=wins, minlength=len(concepts))
    sums = np.bincount(owner, weights=values, minlength=len(concepts))
    ranks = [
        AtlasRank(concept, float(totals[i] / (counts[i] * len(reference))),
                  float(sums[i] / counts[i]), int(counts[i]))
        for i, concept in enumerate(concepts)
        if counts[i] >= MIN_ROWS
    ]
    ranks.sort(key=lambda r: (-r.auc, -r.mean_activation, r.concept))
    return ranks
