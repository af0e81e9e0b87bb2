"""Method comparison: per-method summaries with bootstrap intervals, paired tests, Holm.

Per method: mean and sd (n-1) of AUC and MAD over its units, with seeded percentile bootstrap
intervals of the means. Between every two methods, on the units both labelled: Shapiro-Wilk on
the paired differences, then a paired t-test when they look normal (p > 0.05), else the
Wilcoxon signed-rank test; p-values are Holm-corrected across the pairs of one metric.
A pair that cannot be tested (fewer than 3 shared units, every difference zero) says why and
carries ``None``, never NaN, so the results always serialise to JSON.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

ALPHA = 0.05
#: Shapiro-Wilk p above this: the differences are treated as normal (paired t-test).
NORMALITY_ALPHA = 0.05
MIN_PAIRS = 3
METRICS = ("auc", "mad")
PAIRED_T = "paired t-test"
WILCOXON = "Wilcoxon signed-rank"
NOT_TESTABLE = "not testable"


def _finite(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def bootstrap_mean_interval(
    values: Sequence[float], n_boot: int = 2000, level: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean (resampling the values; seeded)."""
    data = np.asarray(values, dtype=np.float64)
    if data.size == 0:
        raise ValueError("bootstrap_mean_interval needs at least one value")
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, data.size, size=(n_boot, data.size))].mean(axis=1)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return float(low), float(high)


@dataclass(frozen=True)
class MethodSummary:
    """Mean, sd and bootstrap interval of AUC and MAD of one method over its units."""

    method: str
    neurons: int
    mean_auc: float
    sd_auc: float
    auc_low: float
    auc_high: float
    mean_mad: float
    sd_mad: float
    mad_low: float
    mad_high: float

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (every number finite or None)."""
        return {k: (_finite(v) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def summarise(
    method: str,
    auc: Sequence[float],
    mad: Sequence[float],
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> MethodSummary:
    """One method's summary from its per-unit AUC and MAD."""
    aucs = np.asarray(auc, dtype=np.float64)
    mads = np.asarray(mad, dtype=np.float64)
    if aucs.size == 0 or aucs.size != mads.size:
        raise ValueError("summarise needs as many AUC as MAD values, at least one")

    def sd(x: np.ndarray) -> float:
        return float(x.std(ddof=1)) if x.size > 1 else 0.0

    auc_low, auc_high = bootstrap_mean_interval(aucs, n_boot, level, seed)
    mad_low, mad_high = bootstrap_mean_interval(mads, n_boot, level, seed)
    return MethodSummary(
        method, int(aucs.size), float(aucs.mean()), sd(aucs), auc_low, auc_high,
        float(mads.mean()), sd(mads), mad_low, mad_high,
    )


def method_summaries(
    results: pd.DataFrame, n_boot: int = 2000, level: float = 0.95, seed: int = 0
) -> list[MethodSummary]:
    """A summary per method (in order of first appearance) of rows ``method, auc, mad``."""
    return [
        summarise(str(method), rows["auc"], rows["mad"], n_boot, level, seed)
        for method, rows in results.groupby("method", sort=False)
    ]


@dataclass(frozen=True)
class PairedTest:
    """A paired comparison of two methods on one metric over the units both labelled.

    ``difference`` is the mean of (a - b); ``test`` is the test used or "not testable", with why
    in ``note`` (which also counts zero differences the signed-rank test left out); ``p_holm``
    is set by :func:`paired_tests` (Holm across the metric's pairs).
    """

    metric: str
    method_a: str
    method_b: str
    n: int
    difference: float | None
    normality_p: float | None
    test: str
    statistic: float | None
    p: float | None
    p_holm: float | None = None
    significant: bool = False
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (every number finite or None)."""
        return asdict(self)


def paired_test(
    a: Sequence[float], b: Sequence[float], metric: str = "auc",
    method_a: str = "a", method_b: str = "b",
) -> PairedTest:
    """Shapiro-Wilk on a - b, then a paired t-test (normal) or Wilcoxon signed-rank."""
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError("paired_test needs two samples of the same length")
    diff = x - y
    n = int(diff.size)

    def untestable(note: str) -> PairedTest:
        mean = _finite(diff.mean()) if n else None
        return PairedTest(metric, method_a, method_b, n, mean, None, NOT_TESTABLE, None, None,
                          note=note)

    if n < MIN_PAIRS:
        return untestable(f"{n} unit(s) labelled by both; at least {MIN_PAIRS} are needed")
    if not np.all(np.isfinite(diff)):
        return untestable("a score is not finite")
    if np.all(diff == 0):
        return untestable("identical scores on every shared unit")
    normality = None
    if np.ptp(diff) > 0:
        normality = _finite(stats.shapiro(diff).pvalue)
    note = ""
    if normality is not None and normality > NORMALITY_ALPHA:
        name, result = PAIRED_T, stats.ttest_rel(x, y)
    else:  # not normal, or every difference equal (no spread: the t statistic is undefined)
        # Zero differences carry no sign and are left out (Wilcoxon's own rule); dropping them
        # here rather than in scipy keeps its exact p-value for small samples without ties.
        nonzero = diff[diff != 0]
        name, result = WILCOXON, stats.wilcoxon(nonzero)
        if nonzero.size < n:
            note = f"{n - nonzero.size} zero difference(s) left out by the signed-rank test"
    p, statistic = _finite(result.pvalue), _finite(result.statistic)
    if p is None:
        return untestable(f"the {name} gave no p-value")
    return PairedTest(metric, method_a, method_b, n, _finite(diff.mean()), normality, name,
                      statistic, p, note=note)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the input order (capped at 1, monotone)."""
    p = np.asarray(pvalues, dtype=np.float64)
    m = p.size
    order = np.argsort(p, kind="stable")
    adjusted = np.empty(m)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, float((m - rank) * p[index])))
        adjusted[index] = running
    return [float(v) for v in adjusted]


def paired_tests(
    results: pd.DataFrame, metrics: Sequence[str] = METRICS, alpha: float = ALPHA
) -> list[PairedTest]:
    """Every two methods on every metric, Holm-corrected across the pairs of each metric.

    ``results`` has one row per method and unit (columns ``method``, ``unit`` and the metrics).
    """
    methods = list(dict.fromkeys(results["method"]))
    tables = {m: results[results["method"] == m].set_index("unit") for m in methods}
    tests: list[PairedTest] = []
    for metric in metrics:
        pairs = []
        for a, b in itertools.combinations(methods, 2):
            shared = tables[a].index.intersection(tables[b].index).sort_values()
            pairs.append(paired_test(tables[a].loc[shared, metric], tables[b].loc[shared, metric],
                                     metric, a, b))
        testable = [i for i, t in enumerate(pairs) if t.p is not None]
        adjusted = holm([pairs[i].p for i in testable])
        for i, p_holm in zip(testable, adjusted, strict=True):
            pairs[i] = replace(pairs[i], p_holm=p_holm, significant=p_holm < alpha)
        tests.extend(pairs)
    return tests


