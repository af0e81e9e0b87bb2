"""Polysemanticity from a run's history: how many distinct meanings drive the neuron.

Method
------
1. *High scorers*: each concept's latest score (case-insensitive de-duplication); a concept is
   high if ``auc >= max(best_auc - margin, min_auc)``.
2. *Distance* between two high scorers ``a`` and ``b`` (all terms in [0, 1])::

       d(a, b) = w * text(a, b) + (1 - w) * response(a, b)

   ``text = 1 - cos`` of MiniLM sentence embeddings (meaning of the words).

   ``response`` compares the neuron's *activation profiles* on the two concepts' images. The
   per-image activation vectors of two concepts are not paired (each concept has its own
   images and its own seeds), so correlating them would be meaningless; what is comparable
   is the *distribution* of the neuron's responses. We take the 1-Wasserstein distance
   between the two empirical distributions (mean absolute difference of their quantile
   functions on a common grid, so different image counts compare) in units of the neuron's
   demonstrated range (best concept's mean minus the baseline: the control mean, or the
   median concept mean when no control is given), capped at 1. Why it helps: AUC saturates
   (5 images vs a control set), so "red" at full response and "dark red car" at a third of
   it can both score AUC 1.0; the response term keeps such pairs apart when their words are
   close. Why it is weighted low (``w = 0.8`` for text): the response level alone cannot tell
   meanings apart (two unrelated features can drive a neuron equally; in the calibration runs
   of the tests within- and between-meaning pairs differ by 0.05-0.43 of the range alike).
   A pair with an empty activation list uses text only.
3. *Groups*: scikit-learn agglomerative clustering (average linkage) on the precomputed
   distance with a distance threshold, so the number of groups is found, not fixed.
   The default threshold (0.61) sits between the calibration cases of the tests: red-ish
   paraphrases ("red", "crimson", "red stripes", "scarlet dots", "red color") merge (the
   last merge is at average distance 0.58), while "red"/"crimson" vs "vertical stripes"/
   "vertical bars" stay apart (0.71; 0.65 even when both meanings drive the neuron equally).
   MiniLM compresses short phrases (unrelated words reach cosine 0.3-0.4, "scarlet dots" is
   as close to "polka dots" as to "red"), which is why the threshold is this high; a
   different embedder needs its own threshold.
4. *Score*: see :data:`POLYSEMANTICITY_DEFINITION`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from sklearn.cluster import AgglomerativeClustering

from line_core.analysis.embedding import Embedder, cosine_matrix, embed_texts
from line_core.record.history import RunHistory, ScoredRecord

POLYSEMANTICITY_DEFINITION = (
    "effective number of meanings = exp(H), H = -sum_g p_g ln p_g, "
    "p_g = (best AUC of group g - 0.5) / sum over groups; groups are the high-scoring concepts "
    "(AUC >= max(best - margin, min_auc)) clustered by MiniLM text distance and activation-"
    "distribution distance; 1 = monosemantic, k = k equally strong meanings, 0 = nothing above "
    "threshold"
)
_QUANTILES = (np.arange(20) + 0.5) / 20


@dataclass(frozen=True)
class PolyConfig:
    """Knobs of the polysemanticity analysis (defaults documented in the module docstring)."""

    margin: float = 0.1
    min_auc: float = 0.6
    text_weight: float = 0.8
    distance_threshold: float = 0.61


@dataclass
class GroupImage:
    """One image of a group: path relative to the run folder, its activation, its concept."""

    path: str
    activation: float
    concept: str


@dataclass
class ConceptGroup:
    """One meaning: high-scoring concepts clustered together."""

    index: int
    concepts: list[str]
    best_concept: str
    best_auc: float
    mean_auc: float
    share: float
    images: list[GroupImage] = field(default_factory=list)


@dataclass
class MapPoint:
    """A tried concept on the 2-D semantic map (PCA of its text embedding)."""

    concept: str
    x: float
    y: float
    auc: float
    source: str
    group: int | None


@dataclass
class PolysemanticityReport:
    """Result of :func:`polysemanticity`."""

    threshold: float
    best_concept: str | None
    best_auc: float
    high_concepts: list[str]
    groups: list[ConceptGroup]
    score: float
    points: list[MapPoint]
    text_similarity: list[list[float]]
    response_similarity: list[list[float]]
    definition: str = POLYSEMANTICITY_DEFINITION

    @property
    def n_groups(self) -> int:
        """How many distinct meanings drive the neuron above the threshold."""
        return len(self.groups)

    def group_of(self, concept: str) -> int | None:
        """The group index of a concept (None if it is not a high scorer)."""
        for group in self.groups:
            if concept in group.concepts:
                return group.index
        return None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (for the dashboard and the bundle)."""
        return {**asdict(self), "n_groups": self.n_groups}


def _quantile_function(values: list[float]) -> np.ndarray | None:
    if not values:
        return None
    return np.quantile(np.asarray(values, dtype=np.float64), _QUANTILES)


def response_scale(records: list[ScoredRecord], baseline: float) -> tuple[float, float]:
    """(baseline, range): the neuron's level on non-drivers and its best concept's rise above it."""
    means = [float(np.mean(r.activations)) for r in records if r.activations]
    top = max(means, default=baseline)
    span = top - baseline
    return baseline, span if math.isfinite(span) and span > 1e-12 else 1.0


def response_distance(records: list[ScoredRecord], baseline: float) -> np.ndarray:
    """Pairwise W1 of activation distributions in units of the neuron's range, capped at 1.

    Activations become ``(a - baseline) / (best mean - baseline)``: 0 is the level of
    non-driving concepts (or the control), 1 the best concept's mean. NaN where a concept has
    no activations.
    """
    base, span = response_scale(records, baseline)
    curves = [_quantile_function(r.activations) for r in records]
    n = len(records)
    out = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            a, b = curves[i], curves[j]
            if a is None or b is None:
                value = math.nan
            else:
                value = min(float(np.mean(np.abs(a - b))) / span, 1.0)
            out[i, j] = out[j, i] = value
    return out


def combined_distance(
    text_sim: np.ndarray, response_dist: np.ndarray, text_weight: float
) -> np.ndarray:
    """``w * (1 - cos) + (1 - w) * response`` (text only where the response is unknown)."""
    text_dist = np.clip(1.0 - text_sim, 0.0, 1.0)
    mixed = text_weight * text_dist + (1.0 - text_weight) * np.nan_to_num(response_dist)
    out = np.where(np.isnan(response_dist), text_dist, mixed)
    np.fill_diagonal(out, 0.0)
    return out


def cluster_labels(distance: np.ndarray, threshold: float) -> list[int]:
    """Agglomerative clustering (average linkage) of a precomputed distance matrix."""
    n = distance.shape[0]
    if n <= 1:
        return [0] * n
    model = AgglomerativeClustering(
        n_clusters=None, metric="precomputed", linkage="average", distance_threshold=threshold
    )
    return [int(v) for v in model.fit_predict(distance)]


def effective_number(masses: list[float]) -> float:
    """``exp(entropy)`` of the normalised masses (0 for no mass)."""
    values = np.asarray([m for m in masses if m > 0], dtype=np.float64)
    if values.size == 0:
        return 0.0
    p = values / values.sum()
    return float(math.exp(-float(np.sum(p * np.log(p)))))


def semantic_map(vectors: np.ndarray) -> np.ndarray:
    """Deterministic 2-D PCA coordinates of embedding rows (sign fixed per component)."""
    n = vectors.shape[0]
    if n == 0:
        return np.zeros((0, 2))
    centred = vectors - vectors.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    comps = vt[:2]
    for k in range(comps.shape[0]):  # make the largest loading positive: SVD signs are arbitrary
        if comps[k, np.argmax(np.abs(comps[k]))] < 0:
            comps[k] = -comps[k]
    coords = centred @ comps.T
    if coords.shape[1] < 2:
        coords = np.hstack([coords, np.zeros((n, 2 - coords.shape[1]))])
    return coords


def _baseline(records: list[ScoredRecord], control: Sequence[float] | None) -> float:
    if control is not None and len(control) > 0:
        return float(np.mean(control))
    means = [float(np.mean(r.activations)) for r in records if r.activations]
    return float(np.median(means)) if means else 0.0


def _group(index: int, members: list[ScoredRecord], total_mass: float) -> ConceptGroup:
    best = max(members, key=lambda r: r.rank_key)
    images = [
        GroupImage(path=path, activation=float(act), concept=r.concept)
        for r in members
        for path, act in zip(r.images, r.activations, strict=False)
    ]
    images.sort(key=lambda g: (-g.activation, g.concept, g.path))
    mass = max(best.auc - 0.5, 0.0)
    return ConceptGroup(
        index=index,
        concepts=[r.concept for r in members],
        best_concept=best.concept,
        best_auc=float(best.auc),
        mean_auc=float(np.mean([r.auc for r in members])),
        share=mass / total_mass if total_mass > 0 else 0.0,
        images=images,
    )


def polysemanticity(
    history: RunHistory,
    config: PolyConfig | None = None,
    embedder: Embedder | None = None,
    control: Sequence[float] | None = None,
) -> PolysemanticityReport:
    """Group a run's high-scoring concepts into distinct meanings and score polysemanticity.

    ``control`` (the neuron's activations on the control set, as in the manifest) sets the
    response baseline; without it the median of all tried concepts' mean activations is used.
    """
    config = config or PolyConfig()
    records = history.unique_records()
    if not records:
        return PolysemanticityReport(0.0, None, 0.0, [], [], 0.0, [], [], [])
    best = max(records, key=lambda r: r.rank_key)
    threshold = max(best.auc - config.margin, config.min_auc)
    high = sorted(
        (r for r in records if r.auc >= threshold - 1e-12),
        key=lambda r: (-r.rank_key[0], -r.rank_key[1], r.concept),
    )
    vectors = embed_texts([r.concept for r in records], embedder)
    index = {id(r): i for i, r in enumerate(records)}
    high_vectors = vectors[[index[id(r)] for r in high]] if high else np.zeros((0, 1))
    text_sim = cosine_matrix(high_vectors) if high else np.zeros((0, 0))
    resp = response_distance(high, _baseline(records, control))
    distance = combined_distance(text_sim, resp, config.text_weight)
    labels = cluster_labels(distance, config.distance_threshold)

    members: dict[int, list[ScoredRecord]] = {}
    for label, record in zip(labels, high, strict=True):
        members.setdefault(label, []).append(record)
    ordered = sorted(members.values(), key=lambda rs: (-rs[0].rank_key[0], -rs[0].rank_key[1]))
    total = sum(max(rs[0].auc - 0.5, 0.0) for rs in ordered)
    groups = [_group(i + 1, rs, total) for i, rs in enumerate(ordered)]
    score = effective_number([max(rs[0].auc - 0.5, 0.0) for rs in ordered])

    group_of = {r.concept: g.index for g, rs in zip(groups, ordered, strict=True) for r in rs}
    coords = semantic_map(vectors)
    points = [
        MapPoint(r.concept, float(x), float(y), float(r.auc), r.source, group_of.get(r.concept))
        for r, (x, y) in zip(records, coords, strict=True)
    ]
    return PolysemanticityReport(
        threshold=float(threshold),
        best_concept=best.concept,
        best_auc=float(best.auc),
        high_concepts=[r.concept for r in high],
        groups=groups,
        score=score,
        points=points,
        text_similarity=np.round(text_sim, 6).tolist(),
        response_similarity=np.round(1.0 - np.nan_to_num(resp, nan=1.0), 6).tolist(),
    )
