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
   functions on a common grid, so different image counts compare) in units of the pooled
   within-concept standard deviation of the high scorers, and map it to
   ``1 - exp(-W1 / s)``: two concepts whose response distributions differ by less than the
   neuron's own image-to-image spread are indistinguishable (near 0); a concept that drives
   the neuron at a clearly different level or consistency is far (near 1). Paraphrases of one
   feature render similar images and get similar responses; a second, unrelated feature
   usually drives the neuron at its own level. It is weak evidence on its own (two features
   can drive a neuron equally), so text carries most weight (``w = 0.8``). A pair with an
   empty activation list uses text only.
3. *Groups*: scikit-learn agglomerative clustering (average linkage) on the precomputed
   distance with a distance threshold, so the number of groups is found, not fixed.
   The default threshold (0.62) sits between the two calibration cases of the tests: red-ish
   paraphrases ("red", "crimson", "red stripes", "scarlet dots": MiniLM average text distance
   up to 0.66) merge; "red"/"crimson" vs "vertical stripes"/"vertical bars" (average text
   distance 0.80) stay apart even with identical responses. MiniLM compresses short phrases
   (unrelated words reach cosine 0.3-0.4), which is why the threshold is this high.
4. *Score*: see :data:`POLYSEMANTICITY_DEFINITION`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from sklearn.cluster import AgglomerativeClustering

from line_core.analysis.embedding import Embedder, cosine_matrix, embed_texts
from line_core.history import RunHistory, ScoredRecord

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
    distance_threshold: float = 0.62


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


def unique_records(history: RunHistory) -> list[ScoredRecord]:
    """Each concept's latest score (concepts compared case-insensitively), in first-seen order."""
    latest: dict[str, ScoredRecord] = {}
    for record in history.records:
        key = record.concept.strip().lower()
        latest.pop(key, None)
        latest[key] = record
    return list(latest.values())


def _quantile_function(values: list[float]) -> np.ndarray | None:
    if not values:
        return None
    return np.quantile(np.asarray(values, dtype=np.float64), _QUANTILES)


def _within_spread(records: list[ScoredRecord]) -> float:
    variances = [np.var(r.activations, ddof=1) for r in records if len(r.activations) >= 2]
    spread = math.sqrt(float(np.mean(variances))) if variances else 0.0
    if not math.isfinite(spread) or spread <= 0:
        pooled = [v for r in records for v in r.activations]
        spread = float(np.std(pooled)) if pooled else 0.0
    return spread if math.isfinite(spread) and spread > 0 else 1.0


def response_distance(records: list[ScoredRecord]) -> np.ndarray:
    """Pairwise ``1 - exp(-W1 / s)`` of activation distributions; NaN where one is empty."""
    spread = _within_spread(records)
    curves = [_quantile_function(r.activations) for r in records]
    n = len(records)
    out = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            a, b = curves[i], curves[j]
            if a is None or b is None:
                value = math.nan
            else:
                value = 1.0 - math.exp(-float(np.mean(np.abs(a - b))) / spread)
            out[i, j] = out[j, i] = value
    return out


def combined_distance(text_sim: np.ndarray, response_dist: np.ndarray, text_weight: float) -> np.ndarray:
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
    history: RunHistory, config: PolyConfig | None = None, embedder: Embedder | None = None
) -> PolysemanticityReport:
    """Group a run's high-scoring concepts into distinct meanings and score polysemanticity."""
    config = config or PolyConfig()
    records = unique_records(history)
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
    resp = response_distance(high)
    labels = cluster_labels(combined_distance(text_sim, resp, config.text_weight), config.distance_threshold)

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
