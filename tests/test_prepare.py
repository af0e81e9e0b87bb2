"""``line prepare``: what it caches is what the first run reads (planted model, real loop)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from line_core import engine
from line_core.cli import main
from line_core.config import ExplainConfig
from line_core.record.events import ImagesGenerated

pytestmark = pytest.mark.slow

PLANTED = {"model": "planted", "layer": "units", "neuron": 0, "control_size": 40,
           "iterations": 1, "probe_share": 0.0}


@pytest.fixture
def empty_cache(tmp_path, monkeypatch) -> Path:
    """An empty LINE_CACHE_DIR, but with the embedding cache of this machine if it has one.

    Embedding the lexicon's vocabulary from nothing takes minutes on 2 cores; it is what
    ``line prepare`` does on a fresh install, and the embedding tests cover it.
    """
    cache = tmp_path / "cache"
    known = Path.home() / ".cache" / "line" / "embeddings"
    if known.is_dir():
        shutil.copytree(known, cache / "embeddings")
    monkeypatch.setenv("LINE_CACHE_DIR", str(cache))
    return cache


def test_prepare_fills_what_the_first_run_reads(empty_cache, tmp_path):
    config = ExplainConfig(runs_dir=str(tmp_path / "runs"), **PLANTED)
    heard = []
    steps = engine.prepare_first_run(config, report=heard.append)
    assert [s.name for s in steps] == ["model", "proposer", "control activations", "pre-flight",
                                       "initial pool"]
    assert heard == steps and all(s.seconds >= 0 for s in steps)
    assert "vocabulary embedded" in steps[1].detail
    assert list((empty_cache / "control").glob("*.npy"))
    assert not list(empty_cache.glob("prepare-*"))  # the scratch run is gone
    assert not (tmp_path / "runs").exists()  # and nothing went into the runs folder

    started = engine.start(config)
    initial = []
    for event in started.explainer.run():
        if isinstance(event, ImagesGenerated) and event.iteration == 0:
            initial.append(event)
    assert initial and all(e.cached == len(e.seeds) for e in initial)  # nothing rendered again


def test_line_prepare_prints_its_steps(empty_cache, capsys):
    assert main(["prepare", "--model", "planted", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["cache_dir"] == str(empty_cache)
    assert [s["name"] for s in out["steps"]][-1] == "initial pool"
