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


def _concept_aucs(values: np.ndarray, owner: np.ndarray, control: np.ndarray,
                  n_concepts: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(AUC, mean activation, image count) of every concept for one unit's row values."""
    reference = np.sort(np.asarray(control, dtype=np.float64))
    below = np.searchsorted(reference, values, side="left")
    tied = np.searchsorted(reference, values, side="right") - below
    wins = below + 0.5 * tied
    counts = np.bincount(owner, minlength=n_concepts)
    safe = np.maximum(counts, 1)
    aucs = np.bincount(owner, weights=wins, minlength=n_concepts) / (safe * len(reference))
    means = np.bincount(owner, weights=values, minlength=n_concepts) / safe
    return aucs, means, counts


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
    aucs, means, counts = _concept_aucs(values, owner, control, len(concepts))
    ranks = [
        AtlasRank(concept, float(aucs[i]), float(means[i]), int(counts[i]))
        for i, concept in enumerate(concepts)
        if counts[i] >= MIN_ROWS
    ]
    ranks.sort(key=lambda r: (-r.auc, -r.mean_activation, r.concept))
    return ranks


def best_per_unit(atlas: Atlas, control: np.ndarray) -> list[AtlasRank | None]:
    """Each unit's best atlas concept (as :func:`rank_concepts` ranks), for every unit at once.

    ``control`` holds the layer's control activations ``[n_images, units]``; one read of the
    atlas's rows serves every unit. A unit gets None when no concept has enough images.
    """
    concepts, owner, rows = atlas.table()
    control = np.asarray(control, dtype=np.float64)
    if rows.shape[0] == 0:
        return [None] * (control.shape[1] if control.ndim == 2 else 0)
    if control.ndim != 2 or control.shape[1] != rows.shape[1]:
        raise ValueError(f"control of shape {control.shape} does not match the atlas's "
                         f"{rows.shape[1]} units")
    eligible = np.bincount(owner, minlength=len(concepts)) >= MIN_ROWS
    if not eligible.any():
        return [None] * rows.shape[1]
    order = np.asarray(concepts, dtype=object)
    best: list[AtlasRank | None] = []
    for unit in range(rows.shape[1]):
        values = np.asarray(rows[:, unit], dtype=np.float64)
        aucs, means, counts = _concept_aucs(values, owner, control[:, unit], len(concepts))
        # the same order as rank_concepts: AUC, then mean activation, then text
        aucs = np.where(eligible, aucs, -np.inf)
        tied = np.flatnonzero(aucs == aucs.max())
        if tied.size > 1:
            tied = tied[means[tied] == means[tied].max()]
        pick = min(tied, key=lambda i: order[i])
        best.append(AtlasRank(str(order[pick]), float(aucs[pick]), float(means[pick]),
                              int(counts[pick])))
    return best
