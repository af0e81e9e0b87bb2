"""Label novelty: how far a label is from a predefined vocabulary (e.g. ImageNet classes)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from line_core.analysis.embedding import Embedder, embed_texts
from line_core.concepts import normalise
from line_core.errors import ConfigError


@dataclass(frozen=True)
class Novelty:
    """The vocabulary entry nearest to a label, their cosine, and ``novelty = 1 - cosine``."""

    label: str
    nearest: str
    similarity: float
    novelty: float


def imagenet_class_names() -> tuple[str, ...]:
    """ImageNet-1k class names (one unique short name per class), read offline from timm."""
    from line_core.targets.imagenet_classes import imagenet_class_names as names

    return names()


_CACHE: dict[tuple[int, str], np.ndarray] = {}


def _vocabulary_vectors(vocabulary: Sequence[str], embedder: Embedder | None) -> np.ndarray:
    digest = hashlib.sha256("\x1f".join(vocabulary).encode()).hexdigest()
    key = (id(embedder), digest)
    if key not in _CACHE:
        _CACHE[key] = embed_texts(list(vocabulary), embedder)
    return _CACHE[key]


def label_novelty(
    label: str, vocabulary: Sequence[str] | None = None, embedder: Embedder | None = None
) -> Novelty:
    """Max MiniLM cosine of ``label`` to a vocabulary (default: ImageNet-1k class names).

    An exact (case-insensitive) vocabulary match has similarity 1. Vocabulary embeddings are
    cached per process, so scoring many labels against ImageNet costs one encoding pass.
    """
    words = list(vocabulary) if vocabulary is not None else list(imagenet_class_names())
    if not words:
        raise ConfigError("label_novelty needs a non-empty vocabulary")
    if not label.strip():
        raise ConfigError("label_novelty needs a non-empty label")
    same = {normalise(w): w for w in words}
    if normalise(label) in same:
        return Novelty(label, same[normalise(label)], 1.0, 0.0)
    sims = _vocabulary_vectors(words, embedder) @ embed_texts([label], embedder)[0]
    best = int(np.argmax(sims))
    similarity = float(np.clip(sims[best], -1.0, 1.0))
    return Novelty(label, words[best], similarity, 1.0 - similarity)
