"""Polysemanticity, label novelty and run comparison on synthetic runs (real MiniLM where slow)."""

from __future__ import annotations

import numpy as np
import pytest
from run_fixtures import synthetic_history, trigram_embedder

from line_core.analysis import (
    POLYSEMANTICITY_DEFINITION,
    PolyConfig,
    compare_runs,
    label_novelty,
    polysemanticity,
)
from line_core.analysis.polysemanticity import effective_number, semantic_map
from line_core.concepts import Score
from line_core.errors import ConfigError
from line_core.record.history import RunHistory, ScoredRecord

EQUAL_LEVELS = {"vertical stripes": 4.5, "vertical bars": 4.4}


@pytest.fixture(scope="module")
def runs():
    return {
        "mono": synthetic_history("mono"),
        "or": synthetic_history("or"),
        "or_equal": synthetic_history("or", level_overrides=EQUAL_LEVELS),
    }


def _record(concept: str, auc: float, acts: list[float]) -> ScoredRecord:
    score = Score(auc=auc, mad=1.0, mean_activation=float(np.mean(acts or [0])), p_value=0.01,
                  auc_low=auc - 0.05, auc_high=min(auc + 0.05, 1.0))
    return ScoredRecord(concept, score, "llm", iteration=0, activations=tuple(acts),
                        images=tuple(f"images/{concept}{i}.png" for i in range(len(acts))))


# -- real MiniLM: the calibration cases ----------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("use_control", [False, True])
def test_monosemantic_history_is_one_group(runs, use_control):
    history, control = runs["mono"]
    report = polysemanticity(history, control=control if use_control else None)
    assert {"red", "crimson", "red stripes", "scarlet dots"} <= set(report.high_concepts)
    assert report.n_groups == 1
    assert report.score == pytest.approx(1.0)
    assert report.groups[0].best_concept in {"red", "red color", "crimson"}


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["or", "or_equal"])
@pytest.mark.parametrize("use_control", [False, True])
def test_or_history_is_two_groups(runs, kind, use_control):
    history, control = runs[kind]
    report = polysemanticity(history, control=control if use_control else None)
    groups = sorted(sorted(g.concepts) for g in report.groups)
    assert groups == [["crimson", "red"], ["vertical bars", "vertical stripes"]]
    assert report.score == pytest.approx(2.0, abs=0.1)  # strength-weighted: 3.4 vs 4.6
    assert report.groups[0].best_auc >= report.groups[1].best_auc


@pytest.mark.slow
def test_polysemanticity_is_deterministic(runs):
    history, control = runs["or"]
    first = polysemanticity(history, control=control).to_dict()
    second = polysemanticity(history, control=control).to_dict()
    assert first == second


@pytest.mark.slow
def test_label_novelty_with_minilm():
    vocabulary = ["zebra", "goldfish", "fire engine", "tabby cat"]
    near = label_novelty("striped horse", vocabulary)
    assert near.nearest == "zebra"
    far = label_novelty("vertical stripes", vocabulary)
    assert far.novelty > near.novelty
    exact = label_novelty("Goldfish", vocabulary)
    assert (exact.nearest, exact.similarity, exact.novelty) == ("goldfish", 1.0, 0.0)


# -- fast: structure of the report with a cheap embedder ----------------------------------
def test_report_structure(runs):
    history, _ = runs["or"]
    report = polysemanticity(history, embedder=trigram_embedder)
    assert report.definition == POLYSEMANTICITY_DEFINITION
    assert report.threshold == pytest.approx(max(report.best_auc - 0.1, 0.6))
    assert report.n_groups == len(report.groups) >= 1
    assert report.verdict and report.formula
    assert sum(g.share for g in report.groups) == pytest.approx(1.0)
    # every tried concept is on the map once; only high scorers carry a group
    names = [p.concept for p in report.points]
    assert len(names) == len(set(names)) == len({r.concept for r in history.records})
    grouped = {p.concept for p in report.points if p.group is not None}
    assert grouped <= set(report.high_concepts)
    # group images: existing paths of the group's concepts, most activating first
    for group in report.groups:
        acts = [img.activation for img in group.images]
        assert acts == sorted(acts, reverse=True)
        assert {img.concept for img in group.images} <= set(group.concepts)
        assert all(img.path.startswith("images/") for img in group.images)
    assert report.to_dict()["n_groups"] == report.n_groups


def test_threshold_is_configurable(runs):
    history, _ = runs["or"]
    strict = polysemanticity(history, PolyConfig(margin=0.0), embedder=trigram_embedder)
    assert all(c in {"red", "crimson"} for c in strict.high_concepts)  # AUC 1.0 only
    loose = polysemanticity(history, PolyConfig(margin=0.5, min_auc=0.0), embedder=trigram_embedder)
    assert len(loose.high_concepts) > len(strict.high_concepts)


def test_empty_history_and_no_high_scorer():
    empty = polysemanticity(RunHistory(), embedder=trigram_embedder)
    assert (empty.n_groups, empty.score, empty.points) == (0, 0.0, [])
    weak = RunHistory(records=[_record("grey", 0.55, [0.1, 0.2])])
    report = polysemanticity(weak, embedder=trigram_embedder)
    assert report.n_groups == 0 and report.score == 0.0
    assert len(report.points) == 1 and report.points[0].group is None


def test_effective_number():
    assert effective_number([0.5]) == pytest.approx(1.0)
    assert effective_number([0.5, 0.5]) == pytest.approx(2.0)
    assert 1.0 < effective_number([0.5, 0.1]) < 2.0
    assert effective_number([]) == 0.0


def test_semantic_map_is_deterministic_and_sign_fixed():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(6, 8))
    a = semantic_map(vectors)
    b = semantic_map(-vectors)  # flipping every embedding must not mirror the map randomly
    assert a.shape == (6, 2)
    assert np.allclose(a, semantic_map(vectors.copy()))
    assert np.allclose(np.abs(a), np.abs(b))
    assert semantic_map(vectors[:1]).shape == (1, 2)


def test_label_novelty_fast_paths():
    result = label_novelty("red", ["Red", "blue"], embedder=trigram_embedder)
    assert result.similarity == 1.0 and result.nearest == "Red"
    other = label_novelty("reddish", ["red", "zebra"], embedder=trigram_embedder)
    assert other.nearest == "red" and 0 < other.novelty < 1
    with pytest.raises(ConfigError):
        label_novelty("x", [], embedder=trigram_embedder)


def test_compare_runs(runs):
    mono, _ = runs["mono"]
    poly, _ = runs["or"]
    result = compare_runs(mono, poly, embedder=trigram_embedder)
    assert result.label_a in {"red", "red color"} and result.label_b in {"red", "crimson"}
    assert {"red", "crimson", "blue sky"} <= set(result.shared_concepts)
    assert 0 < result.jaccard < 1
    assert result.semantic_overlap >= result.jaccard * 0.5
    assert result.curve_a[0][0] == 0 and len(result.curve_a) == len(mono.completed)
    assert all(b >= a for (_, a), (_, b) in zip(result.curve_b, result.curve_b[1:], strict=False))
    assert result.n_concepts_a == len({r.concept for r in mono.records})
