"""Score arithmetic the views share: the random-concept baseline and score formatting."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from line_core.history import RunHistory, ScoredRecord

#: Sources of the initial pool whose concepts are not chosen for this unit.
BASELINE_SOURCES = ("seed", "control-class")
#: The first concepts of a class-aware initial pool are the top classes, not random ones.
TOP_INITIAL = 5


@dataclass(frozen=True)
class Baseline:
    """AUCs of concepts not chosen for the unit: mean and 5th..95th percentile."""

    mean: float
    low: float
    high: float
    n: int


def random_baseline(hist: RunHistory) -> Baseline | None:
    """The chance-level reference: the run's seed-vocabulary (or random-class) AUCs.

    For a generator control set, iteration 0 scores the generator's whole seed vocabulary, a
    fixed list that knows nothing of the unit. For a class-folder control, the first five
    initial concepts are the unit's top classes, so only the random classes after them count.
    """
    initial = [r for r in hist.records if r.iteration == 0 and r.source in BASELINE_SOURCES]
    if initial and initial[0].source == "control-class":
        initial = initial[TOP_INITIAL:]
    if not initial:
        return None
    aucs = np.asarray([r.auc for r in initial], dtype=float)
    low, high = np.quantile(aucs, [0.05, 0.95])
    return Baseline(float(aucs.mean()), float(low), float(high), len(initial))


def ci_text(record: ScoredRecord) -> str:
    """A record's AUC with its bootstrap interval, e.g. ``0.912 [0.86, 0.95]``."""
    return f"{record.auc:.3f} [{record.auc_low:.2f}, {record.auc_high:.2f}]"


def score_line(record: ScoredRecord, baseline: Baseline | None) -> str:
    """One caption: AUC with interval, MAD, images, and the baseline beside it."""
    text = (
        f"AUC {ci_text(record)} · MAD {record.mad:.2f} · {len(record.activations)} images"
    )
    if baseline is not None:
        text += (
            f" · random-concept baseline {baseline.mean:.2f} "
            f"[{baseline.low:.2f}, {baseline.high:.2f}]"
        )
    return text


def beats_baseline(record: ScoredRecord, baseline: Baseline | None) -> bool | None:
    """Whether the record's interval lies above the baseline's 95th percentile (None: unknown)."""
    if baseline is None:
        return None
    return record.auc_low > baseline.high
