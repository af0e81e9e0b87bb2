"""The process-wide MiniLM embedder: normalised rows, per-text cache, similarities."""

import json
import os
import subprocess
import sys
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


@pytest.mark.slow
def test_disk_cache_serves_a_new_process_without_loading_the_model(tmp_path):
    env = {**os.environ, "LINE_CACHE_DIR": str(tmp_path)}
    texts = [f"concept number {i}" for i in range(40)]
    code = (
        "import sys, json; from line_core import embeddings as e;"
        f"v = e.embed({texts!r}); print(json.dumps([e._model is not None, float(v.sum())]))"
    )
    first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    second = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    loaded_1, total_1 = json.loads(first.stdout.strip().splitlines()[-1])
    loaded_2, total_2 = json.loads(second.stdout.strip().splitlines()[-1])
    assert loaded_1 and not loaded_2  # the second process never loaded MiniLM
    assert abs(total_1 - total_2) < 1e-3
    assert (tmp_path / "embeddings" / "all-MiniLM-L6-v2.npz").exists()
