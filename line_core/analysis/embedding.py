"""Text embeddings for analysis: the project's MiniLM embedder, or any injected callable.

``line_core.embeddings.embed`` (all-MiniLM-L6-v2, offline, cached per text) is the default;
tests and callers may inject any ``texts -> array[n, d]`` callable instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

Embedder = Callable[[Sequence[str]], np.ndarray]


def default_embedder() -> Embedder:
    """The process-wide MiniLM embedder (loaded on first use)."""
    from line_core.embeddings import embed

    return embed


def embed_texts(texts: Sequence[str], embedder: Embedder | None = None) -> np.ndarray:
    """Embed texts as float64 rows of unit length (shape ``[len(texts), d]``)."""
    if not texts:
        return np.zeros((0, 0))
    vectors = np.asarray((embedder or default_embedder())(list(texts)), dtype=np.float64)
    if vectors.ndim != 2 or vectors.shape[0] != len(texts):
        raise ValueError(f"embedder returned shape {vectors.shape} for {len(texts)} texts")
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


def cosine_matrix(vectors: np.ndarray) -> np.ndarray:
    """Pairwise cosine similarity of unit rows, clipped to [-1, 1]."""
    return np.clip(vectors @ vectors.T, -1.0, 1.0)
