"""Analysis of finished (or running) runs: polysemanticity, label novelty, method comparison."""

from line_core.analysis.compare import RunComparison, best_so_far_curve, compare_runs
from line_core.analysis.embedding import Embedder, default_embedder, embed_texts
from line_core.analysis.novelty import Novelty, imagenet_class_names, label_novelty
from line_core.analysis.polysemanticity import (
    POLYSEMANTICITY_DEFINITION,
    ConceptGroup,
    GroupImage,
    MapPoint,
    PolyConfig,
    PolysemanticityReport,
    polysemanticity,
)

__all__ = [
    "POLYSEMANTICITY_DEFINITION",
    "ConceptGroup",
    "Embedder",
    "GroupImage",
    "MapPoint",
    "Novelty",
    "PolyConfig",
    "PolysemanticityReport",
    "RunComparison",
    "best_so_far_curve",
    "compare_runs",
    "default_embedder",
    "embed_texts",
    "imagenet_class_names",
    "label_novelty",
    "polysemanticity",
]
