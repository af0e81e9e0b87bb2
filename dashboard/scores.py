"""Score formatting the views share (the baseline itself is ``RunHistory.baseline()``)."""

from __future__ import annotations

from line_core.concepts import ScoredConcept
from line_core.record import Baseline, ScoredRecord


def ci_text(record: ScoredConcept) -> str:
    """A record's AUC with its bootstrap interval, e.g. ``0.912 [0.86, 0.95]``."""
    return f"{record.auc:.3f} [{record.auc_low:.2f}, {record.auc_high:.2f}]"


def baseline_text(baseline: Baseline | None) -> str:
    """The random-concept baseline as one phrase ('' without one)."""
    if baseline is None:
        return ""
    return (
        f"random-concept baseline {baseline.mean:.2f} [{baseline.low:.2f}, {baseline.high:.2f}]"
    )


def score_line(record: ScoredRecord, baseline: Baseline | None) -> str:
    """One caption: AUC with interval, MAD, images, and the baseline beside it."""
    text = f"AUC {ci_text(record)} · MAD {record.mad:.2f} · {len(record.activations)} images"
    if baseline is not None:
        text += f" · {baseline_text(baseline)}"
    return text


def beats_baseline(record: ScoredConcept, baseline: Baseline | None) -> bool | None:
    """Whether the record's interval lies above the baseline's 95th percentile (None: unknown)."""
    if baseline is None:
        return None
    return record.auc_low > baseline.high
