import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats
from sklearn.metrics import roc_auc_score

from line_core.scoring import (
    auc,
    bootstrap_auc,
    mad,
    mann_whitney_p,
    score_activations,
    u_statistic,
)


def test_auc_hand_computed_with_a_tie():
    # pairs (concept > control): 3 vs [1,3,4] -> 1 + 0.5 ; 5 vs [1,3,4] -> 3  => U = 4.5 of 6
    assert u_statistic([3, 5], [1, 3, 4]) == 4.5
    assert auc([3, 5], [1, 3, 4]) == pytest.approx(0.75)


def test_mad_hand_computed():
    # mean concept 4, mean control 8/3, std(n-1) of [1,3,4] = sqrt(7/3)
    expected = (4 - 8 / 3) / math.sqrt(7 / 3)
    assert mad([3, 5], [1, 3, 4]) == pytest.approx(expected)
    assert mad([3, 5], [1, 3, 4]) == pytest.approx(0.872871560943)


def test_mad_is_zero_when_control_is_constant():
    assert mad([5, 6], [2, 2, 2]) == 0.0


def test_perfect_separation_and_reverse():
    assert auc([10, 11], [1, 2, 3]) == 1.0
    assert auc([0, -1], [1, 2, 3]) == 0.0
    assert auc([2, 2], [2, 2]) == 0.5


def test_p_value_matches_scipy_and_constant_case():
    a, b = [3.0, 5.0, 7.0, 9.0], [1.0, 3.0, 4.0, 2.0, 0.5]
    assert mann_whitney_p(a, b) == pytest.approx(stats.mannwhitneyu(a, b).pvalue)
    assert mann_whitney_p([1, 1], [1, 1, 1]) == 1.0


@given(
    st.lists(st.integers(-5, 5), min_size=1, max_size=12),
    st.lists(st.integers(-5, 5), min_size=1, max_size=30),
)
def test_auc_equals_sklearn_with_ties(pos, neg):
    labels = [1] * len(pos) + [0] * len(neg)
    expected = roc_auc_score(labels, pos + neg) if len(set(labels)) == 2 else None
    assert auc(pos, neg) == pytest.approx(expected)
    assert u_statistic(pos, neg) == pytest.approx(stats.mannwhitneyu(pos, neg).statistic)


def test_bootstrap_interval_brackets_auc_and_is_deterministic():
    rng = np.random.default_rng(0)
    pos, neg = rng.normal(1, 1, 5), rng.normal(0, 1, 40)
    low, high = bootstrap_auc(pos, neg, seed=3)
    assert low <= auc(pos, neg) <= high
    assert (low, high) == bootstrap_auc(pos, neg, seed=3)
    # a perfectly separated concept has a degenerate interval at 1
    assert bootstrap_auc([9, 9.5], neg) == (1.0, 1.0)


def test_score_activations_fields():
    score = score_activations([3, 5], [1, 3, 4])
    assert score.auc == pytest.approx(0.75)
    assert score.u_statistic == 4.5
    assert score.mean_activation == 4.0
    assert score.rank_key == (0.75, pytest.approx(0.8728715))
