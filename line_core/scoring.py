"""Scores of a neuron's activations on a concept's images against a control set.

Definitions follow the CoSy evaluation exactly:

* AUC: ROC AUC with control labelled 0 and concept labelled 1; ties count half.
* Mann-Whitney U (of the concept sample) and its two-sided p-value.
* MAD: (mean(concept) - mean(control)) / std(control), std with n-1, 0 when std is 0.

AUC saturates near 1 with few images, so concepts are ranked by AUC with MAD breaking ties
(``line_core.concepts.Score.rank_key``), and every score carries a bootstrap interval over
the concept's images.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

from line_core.concepts import Score


def auc(concept: Sequence[float], control: Sequence[float]) -> float:
    """ROC AUC of concept (label 1) vs control (label 0); ties count half."""
    pos = np.asarray(concept, dtype=np.float64)
    neg = np.asarray(control, dtype=np.float64)
    if pos.size == 0 or neg.size == 0:
        raise ValueError("auc needs at least one concept and one control activation")
    return float(u_statistic(pos, neg) / (pos.size * neg.size))


def u_statistic(concept: Sequence[float], control: Sequence[float]) -> float:
    """Mann-Whitney U of the concept sample: pairs where concept > control, ties count half."""
    pos = np.asarray(concept, dtype=np.float64)
    neg = np.sort(np.asarray(control, dtype=np.float64))
    below = np.searchsorted(neg, pos, side="left")
    at_or_below = np.searchsorted(neg, pos, side="right")
    return float(np.sum(below) + 0.5 * np.sum(at_or_below - below))


def mad(concept: Sequence[float], control: Sequence[float]) -> float:
    """(mean(concept) - mean(control)) / std(control) with n-1; 0 when that std is 0."""
    pos = np.asarray(concept, dtype=np.float64)
    neg = np.asarray(control, dtype=np.float64)
    if neg.size < 2:
        return 0.0
    std = float(np.std(neg, ddof=1))
    if std == 0.0:
        return 0.0
    return float((pos.mean() - neg.mean()) / std)


def mann_whitney_p(concept: Sequence[float], control: Sequence[float]) -> float:
    """Two-sided Mann-Whitney U test p-value (1.0 when every value is identical)."""
    pos = np.asarray(concept, dtype=np.float64)
    neg = np.asarray(control, dtype=np.float64)
    if np.ptp(np.concatenate([pos, neg])) == 0:
        return 1.0
    return float(stats.mannwhitneyu(pos, neg, alternative="two-sided").pvalue)


def bootstrap_auc(
    concept: Sequence[float],
    control: Sequence[float],
    n_boot: int = 200,
    level: float = 0.9,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of the AUC, resampling the concept's images.

    The spread across image seeds is what makes 5-image scores readable: a concept whose
    interval is wide has not been measured well and deserves more images.
    """
    pos = np.asarray(concept, dtype=np.float64)
    neg = np.sort(np.asarray(control, dtype=np.float64))
    rng = np.random.default_rng(seed)
    samples = pos[rng.integers(0, pos.size, size=(n_boot, pos.size))]
    below = np.searchsorted(neg, samples, side="left")
    at_or_below = np.searchsorted(neg, samples, side="right")
    aucs = (below + 0.5 * (at_or_below - below)).sum(axis=1) / (pos.size * neg.size)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(aucs, [tail, 1.0 - tail])
    return float(low), float(high)


def score_activations(
    concept: Sequence[float], control: Sequence[float], seed: int = 0
) -> Score:
    """Every score of a concept's activations against the control activations."""
    pos = np.asarray(concept, dtype=np.float64)
    neg = np.asarray(control, dtype=np.float64)
    low, high = bootstrap_auc(pos, neg, seed=seed)
    return Score(
        auc=auc(pos, neg),
        mad=mad(pos, neg),
        mean_activation=float(pos.mean()),
        u_statistic=u_statistic(pos, neg),
        p_value=mann_whitney_p(pos, neg),
        auc_low=low,
        auc_high=high,
    )
