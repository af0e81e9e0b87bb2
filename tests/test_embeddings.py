"""The process-wide MiniLM embedder: normalised rows, per-text cache, similarities."""

import threading

import numpy as np
import pytest

from line_core import embeddings


def test_empty_input_needs_no_model():
    assert embeddings.embed([]).shape == (0, embeddings.DIMENSION)
    assert embeddings.similarity_matrix([], ["x"]).shape == (0, 1)


def test_hashing_embed_is_deterministic_and_normalised():
    a = embeddings.hashing_embed(["red stripes", "", "blue dots"])
    b = embeddings.hashing_embed(["red stripes", "", "blue dots"])
    assert np.array_equal(a, b)
    assert np.allclose(np.linalg.norm(a[[0, 2]], axis=1), 1.0)
    assert not a[1].any()


@pytest.mark.slow
def test_minilm_embeddings_are_normalised_cached_and_meaningful():
    vectors = embeddings.embed(["red stripes", "crimson bands", "a golden retriever"])
    assert vectors.shape == (3, embeddings.DIMENSION)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    count = embeddings.cached_count()
    again = embeddings.embed(["a golden retriever", "red stripes"])
    assert embeddings.cached_count() == count  # served from the cache
    assert np.array_equal(again[1], vectors[0])
    close = embeddings.similarity("red stripes", "crimson bands")
    far = embeddings.similarity("red stripes", "a golden retriever")
    assert close > far + 0.2
    matrix = embeddings.similarity_matrix(["red stripes"], ["crimson bands", "a golden retriever"])
    assert matrix.shape == (1, 2)
    assert matrix[0, 0] == pytest.approx(close, abs=1e-5)


@pytest.mark.slow
def test_one_model_across_threads():
    models, errors = [], []

    def work(i: int) -> None:
        try:
            models.append(embeddings.get_model())
            embeddings.embed([f"thread concept {i}", "shared text"])
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert all(m is models[0] for m in models)
