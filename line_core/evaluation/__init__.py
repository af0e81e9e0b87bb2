"""Evaluation of neuron labels from any method (CoSy): label sources, statistics, reports.

``labels`` reads our runs and the CSV files other methods publish; ``stats`` summarises and
compares methods; ``report`` holds an evaluation's result as tables and JSON; ``output`` writes
its folder safely. Rendering and scoring live in ``line_core.engine.evaluate``.
"""

from line_core.evaluation.labels import LabelSet, LayerSpec, detect_format, read_sources
from line_core.evaluation.report import EvaluationResult
from line_core.evaluation.stats import (
    MethodSummary,
    PairedTest,
    holm,
    method_summaries,
    paired_test,
    paired_tests,
)

__all__ = [
    "EvaluationResult", "LabelSet", "LayerSpec", "MethodSummary", "PairedTest", "detect_format",
    "holm", "method_summaries", "paired_test", "paired_tests", "read_sources",
]  # fmt: skip
