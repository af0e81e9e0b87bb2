"""Evaluation of neuron labels from any method (CoSy): label sources, statistics, reports.

``labels`` reads our runs and the CSV files other methods publish; ``stats`` summarises and
compares methods; ``regimes`` names the control regimes and flags labels that collapse under
the generator-matched control; ``report`` holds an evaluation's result as tables and JSON;
``output`` writes its folder safely and reads it back. Rendering and scoring live in
``line_core.engine.evaluate``.
"""

from line_core.evaluation.labels import LabelSet, LayerSpec, detect_format, read_sources
from line_core.evaluation.output import StoredEvaluation, read_folder
from line_core.evaluation.regimes import (
    COLLAPSE_GENERATOR_MAX_AUC,
    COLLAPSE_NATURAL_MIN_AUC,
    collapsed_table,
    flag_collapsed,
    is_collapsed,
)
from line_core.evaluation.report import EvaluationResult, RegimeReport
from line_core.evaluation.stats import (
    MethodSummary,
    PairedTest,
    holm,
    method_summaries,
    paired_test,
    paired_tests,
)

__all__ = [
    "COLLAPSE_GENERATOR_MAX_AUC", "COLLAPSE_NATURAL_MIN_AUC", "EvaluationResult", "LabelSet",
    "LayerSpec", "MethodSummary", "PairedTest", "RegimeReport", "StoredEvaluation",
    "collapsed_table", "detect_format", "flag_collapsed", "holm", "is_collapsed",
    "method_summaries", "paired_test", "paired_tests", "read_folder", "read_sources",
]  # fmt: skip
