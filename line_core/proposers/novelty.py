"""Is a concept new? Exact repeats by normalised text, near-duplicates by MiniLM cosine.

Exact repeats use ``line_core.concepts.normalise``, the project's one canonical form of a
concept ("Red stripes!" and "a red stripe" are the same concept).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

import numpy as np

from line_core.concepts import normalise
from line_core.proposers.wordlists import contrast_group

#: Cosine (MiniLM) at or above which a concept counts as a near-duplicate of a tried one.
NEAR_DUPLICATE = 0.9

Embedder = Callable[[Sequence[str]], np.ndarray]


def is_contrast_swap(a: str, b: str) -> bool:
    """True when two normalised concepts differ in exactly one word of one contrast group.

    "red horizontal stripe" vs "red vertical stripe" embed at cosine ~0.97 but render as
    different images, so they are not near-duplicates.
    """
    wa, wb = a.split(), b.split()
    if len(wa) != len(wb):
        return False
    diffs = [(x, y) for x, y in zip(wa, wb, strict=True) if x != y]
    if len(diffs) != 1:
        return False
    group = contrast_group(diffs[0][0])
    return group is not None and diffs[0][1] in group


def _default_embedder(texts: Sequence[str]) -> np.ndarray:
    from line_core.embeddings import embed

    return embed(texts)


@dataclass
class NoveltyChecker:
    """Rejects concepts already tried (exact, after ``normalise``) or near-duplicates of one.

    ``check`` returns None for a new concept, else a one-line reason. ``embedder`` maps texts
    to unit rows (MiniLM by default; tests may inject a cheap one).
    """

    threshold: float = NEAR_DUPLICATE
    embedder: Embedder = field(default=_default_embedder, repr=False)

    def check(self, concept: str, forbidden: Collection[str]) -> str | None:
        """None if ``concept`` is new with respect to ``forbidden``, else why it is not."""
        return self.check_many([concept], forbidden)[0]

    def check_many(self, concepts: Sequence[str], forbidden: Collection[str]) -> list[str | None]:
        """``check`` for many concepts at once (one embedding call, one matrix product)."""
        keys = [normalise(c) for c in concepts]
        tried = sorted({normalise(f) for f in forbidden} - {""})
        tried_set = set(tried)
        reasons: list[str | None] = []
        pending: list[int] = []
        for i, (concept, key) in enumerate(zip(concepts, keys, strict=True)):
            if not key:
                reasons.append(f"'{concept}' is empty after normalisation")
            elif key in tried_set:
                reasons.append(f"'{concept}' was already tried")
            else:
                reasons.append(None)
                pending.append(i)
        if not pending or not tried or self.threshold > 1.0:
            return reasons
        vectors = self.embedder([keys[i] for i in pending] + tried)
        sims = vectors[: len(pending)] @ vectors[len(pending) :].T
        for row, i in enumerate(pending):
            order = np.argsort(-sims[row])
            for j in order:
                if sims[row, j] < self.threshold:
                    break
                if not is_contrast_swap(keys[i], tried[j]):
                    reasons[i] = (
                        f"'{concepts[i]}' is a near-duplicate of tried '{tried[j]}' "
                        f"(similarity {float(sims[row, j]):.2f})"
                    )
                    break
        return reasons

    def is_new(self, concept: str, forbidden: Collection[str]) -> bool:
        """True when ``check`` finds nothing against the concept."""
        return self.check(concept, forbidden) is None
