"""Polysemanticity from a run's history: how many distinct drivers make the neuron fire.

Method
------
1. *High scorers*: each concept's latest score (case-insensitive de-duplication); the AUC
   threshold is ``max(best_auc - margin, min_auc)``.
2. *Drivers*: :func:`line_core.analysis.drivers.find_drivers` groups the concepts by what
   drives the unit (the OR terms of a small attribute formula, strength relative to the
   strongest concept, separating tests), not by how similar their words are. A concept counts
   as a driver when its AUC reaches the threshold AND its strength reaches ``min_strength``
   (half the strongest concept's rise above the control by default): AUC alone saturates.
3. *Score*: see :data:`POLYSEMANTICITY_DEFINITION`; the groups' masses are their strengths,
   so a weak second activator adds little, and two equally strong drivers make 2.
4. *Map*: every tried concept on a 2-D PCA of its MiniLM text embedding (display only).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from line_core.analysis.drivers import Driver, DriverConfig, Evidence, find_drivers
from line_core.analysis.embedding import Embedder, embed_texts
from line_core.concepts import Source
from line_core.record.history import RunHistory

POLYSEMANTICITY_DEFINITION = (
    "effective number of drivers = exp(H), H = -sum_g p_g ln p_g, p_g = strength of group g / "
    "sum over groups; a group is one OR term of the attribute formula that best separates "
    "strong from weak concepts (its concepts reach AUC >= max(best - margin, min_auc) and at "
    "least min_strength of the strongest concept's rise above the control); strength = that "
    "rise relative to the strongest concept (a MAD ratio); 1 = one driver, k = k equally "
    "strong drivers, 0 = nothing above threshold"
)


@dataclass(frozen=True)
class PolyConfig:
    """Knobs of the polysemanticity analysis (defaults documented in the module docstring)."""

    margin: float = 0.1
    min_auc: float = 0.6
    min_strength: float = 0.5
    synonym_similarity: float = 0.8


@dataclass
class GroupImage:
    """One image of a group: path relative to the run folder, its activation, its concept."""

    path: str
    activation: float
    concept: str


@dataclass
class SeparatingTest:
    """A tried concept that separates this driver from the others, in words and numbers."""

    concept: str
    auc: float
    auc_low: float
    auc_high: float
    strength: float
    attribute: str
    needed: bool
    probe: bool
    text: str


@dataclass
class ConceptGroup:
    """One driver: the concepts that share it, its best concept and the evidence."""

    index: int
    concepts: list[str]
    best_concept: str
    best_auc: float
    mean_auc: float
    share: float
    term: str = ""
    strength: float = 0.0
    best_auc_low: float = 0.0
    best_auc_high: float = 1.0
    best_mad: float = 0.0
    tests: list[SeparatingTest] = field(default_factory=list)
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
    formula: str = ""
    formula_iou: float = 0.0
    verdict: str = ""
    mixed: list[str] = field(default_factory=list)
    n_probes: int = 0
    definition: str = POLYSEMANTICITY_DEFINITION

    @property
    def n_groups(self) -> int:
        """How many distinct drivers move the neuron."""
        return len(self.groups)

    def group_of(self, concept: str) -> int | None:
        """The group index of a concept (None if it drives no group)."""
        for group in self.groups:
            if concept in group.concepts:
                return group.index
        return None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (for the dashboard, the CLI and the bundle)."""
        return {**asdict(self), "n_groups": self.n_groups}


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


def _test(evidence: Evidence) -> SeparatingTest:
    return SeparatingTest(
        concept=evidence.concept,
        auc=float(evidence.auc),
        auc_low=float(evidence.auc_low),
        auc_high=float(evidence.auc_high),
        strength=float(evidence.strength),
        attribute=evidence.attribute,
        needed=evidence.needed,
        probe=evidence.source == Source.PROBE,
        text=evidence.text(),
    )


def _group(index: int, driver: Driver, total: float) -> ConceptGroup:
    members = driver.members
    images = [
        GroupImage(path=path, activation=float(act), concept=r.concept)
        for r in members
        for path, act in zip(r.images, r.activations, strict=False)
    ]
    images.sort(key=lambda g: (-g.activation, g.concept, g.path))
    best = driver.best
    return ConceptGroup(
        index=index,
        concepts=[r.concept for r in members],
        best_concept=best.concept,
        best_auc=float(best.auc),
        mean_auc=float(np.mean([r.auc for r in members])),
        share=driver.strength / total if total > 0 else 0.0,
        term=driver.term,
        strength=float(driver.strength),
        best_auc_low=float(best.auc_low),
        best_auc_high=float(best.auc_high),
        best_mad=float(best.mad),
        tests=[_test(e) for e in driver.tests],
        images=images,
    )


def _control(history: RunHistory, control: Sequence[float] | None) -> Sequence[float] | None:
    """The given control activations, else those the manifest recorded (None if neither)."""
    if control is not None:
        return control
    manifest = history.manifest
    values = manifest.control.activations if manifest is not None else []
    finite = [float(v) for v in values if math.isfinite(float(v))]
    return finite or None


def polysemanticity(
    history: RunHistory,
    config: PolyConfig | None = None,
    embedder: Embedder | None = None,
    control: Sequence[float] | None = None,
) -> PolysemanticityReport:
    """Group a run's concepts by what drives the neuron and score polysemanticity.

    ``control`` (the neuron's activations on the control set) sets the strength baseline; by
    default the manifest's, else the median of the baseline concepts' mean activations.
    """
    config = config or PolyConfig()
    records = history.unique_records()
    if not records:
        return PolysemanticityReport(0.0, None, 0.0, [], [], 0.0, [])
    best = max(records, key=lambda r: r.rank_key)
    threshold = max(best.auc - config.margin, config.min_auc)
    analysis = find_drivers(
        records,
        threshold,
        _control(history, control),
        DriverConfig(config.min_strength, config.synonym_similarity),
        embedder,
    )
    total = sum(d.strength for d in analysis.drivers)
    groups = [_group(i + 1, d, total) for i, d in enumerate(analysis.drivers)]
    high = sorted(
        {r.concept: r for d in analysis.drivers for r in d.members}.values(),
        key=lambda r: (-r.rank_key[0], -r.rank_key[1], r.concept),
    )
    group_of = {c: g.index for g in reversed(groups) for c in g.concepts}
    vectors = embed_texts([r.concept for r in records], embedder)
    points = [
        MapPoint(r.concept, float(x), float(y), float(r.auc), r.source, group_of.get(r.concept))
        for r, (x, y) in zip(records, semantic_map(vectors), strict=True)
    ]
    return PolysemanticityReport(
        threshold=float(threshold),
        best_concept=best.concept,
        best_auc=float(best.auc),
        high_concepts=[r.concept for r in high],
        groups=groups,
        score=effective_number([d.strength for d in analysis.drivers]),
        points=points,
        formula=analysis.formula.text(),
        formula_iou=float(analysis.formula.iou),
        verdict=analysis.verdict,
        mixed=list(analysis.mixed),
        n_probes=sum(1 for r in records if r.source == Source.PROBE),
    )
