"""An evaluation's result: per-unit scores, method summaries, paired tests, as tables and JSON.

Tables come as data frames (CSV) and as (header, rows, alignment) for a LaTeX writer; the JSON
object is what ``line evaluate --json`` prints (every number finite or None).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from line_core.evaluation.stats import MethodSummary, PairedTest

#: Columns of results.csv / results.parquet, in order (one row per method and unit).
RESULT_COLUMNS = (
    "method", "layer", "unit", "label", "auc", "mad", "u_statistic", "p_value", "n_images",
    "n_control", "auc_low", "auc_high", "mean_activation", "rendered_as", "prompt", "drawable",
    "unrendered",
)  # fmt: skip


def number(value: Any, digits: int = 4) -> float | None:
    """A finite rounded float for JSON, or None (JSON has no NaN)."""
    if value is None:
        return None
    value = float(value)
    return round(value, digits) if math.isfinite(value) else None


@dataclass
class EvaluationResult:
    """Everything one evaluation produced (also written to ``out_dir``)."""

    out_dir: Path
    results: pd.DataFrame
    summaries: list[MethodSummary]
    #: The same summaries over the units every method labelled (empty when there are none).
    common: list[MethodSummary]
    tests: list[PairedTest]
    manifest: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    def undrawable(self, method: str) -> int:
        """How many of a method's labels have no word the generator can draw."""
        rows = self.results[self.results["method"] == method]
        return int((~rows["drawable"].astype(bool)).sum())

    def comparison(self) -> pd.DataFrame:
        """One row per method: summary over its units, over the shared units, undrawable count."""
        common = {s.method: s for s in self.common}
        rows = []
        for summary in self.summaries:
            shared = common.get(summary.method)
            rows.append({
                **summary.to_dict(),
                "common_neurons": shared.neurons if shared else 0,
                "common_mean_auc": shared.mean_auc if shared else None,
                "common_mean_mad": shared.mean_mad if shared else None,
                "undrawable": self.undrawable(summary.method),
            })
        return pd.DataFrame(rows)

    def tests_frame(self) -> pd.DataFrame:
        """One row per (metric, pair of methods)."""
        columns = list(PairedTest.__dataclass_fields__)
        return pd.DataFrame([t.to_dict() for t in self.tests], columns=columns)

    def to_json(self) -> dict[str, Any]:
        """The one object ``line evaluate --json`` prints."""
        common = {s.method: s for s in self.common}
        methods = []
        for s in self.summaries:
            shared = common.get(s.method)
            methods.append({
                "name": s.method,
                "neurons": s.neurons,
                "mean_auc": number(s.mean_auc),
                "sd_auc": number(s.sd_auc),
                "auc_ci": [number(s.auc_low), number(s.auc_high)],
                "mean_mad": number(s.mean_mad),
                "sd_mad": number(s.sd_mad),
                "mad_ci": [number(s.mad_low), number(s.mad_high)],
                "undrawable": self.undrawable(s.method),
                "common": {
                    "neurons": shared.neurons if shared else 0,
                    "mean_auc": number(shared.mean_auc) if shared else None,
                    "mean_mad": number(shared.mean_mad) if shared else None,
                },
            })
        tests = [
            {
                "metric": t.metric, "method_a": t.method_a, "method_b": t.method_b,
                "test": t.test, "p": number(t.p, 6), "p_holm": number(t.p_holm, 6),
                "significant": t.significant, "n": t.n, "mean_difference": number(t.difference),
                "note": t.note,
            }
            for t in self.tests
        ]  # fmt: skip
        info = self.manifest
        return {
            "out_dir": str(self.out_dir),
            "model": info.get("model"),
            "layer": info.get("layer"),
            "n_images": info.get("n_images"),
            "control": info.get("control", {}).get("spec"),
            "generator": info.get("generator", {}).get("name"),
            "labels_rendered": info.get("labels_rendered"),
            "methods": methods,
            "tests": tests,
            "warnings": list(self.warnings),
        }

    def text(self) -> str:
        """A plain-text report: the methods table, then the tests."""
        lines = [f"{'method':24s} {'units':>5} {'AUC':>6} {'sd':>5} {'95% CI':>15} "
                 f"{'MAD':>6} {'sd':>5}"]
        for s in self.summaries:
            ci = f"[{s.auc_low:.3f}, {s.auc_high:.3f}]"
            lines.append(f"{s.method[:24]:24s} {s.neurons:5d} {s.mean_auc:6.3f} {s.sd_auc:5.3f} "
                         f"{ci:>15} {s.mean_mad:6.2f} {s.sd_mad:5.2f}")
        if self.tests:
            lines.append("")
            lines.append(f"{'metric':6s} {'A vs B':40s} {'n':>4} {'test':22s} {'p':>9} "
                         f"{'p (Holm)':>9}")
        for t in self.tests:
            pair = f"{t.method_a} vs {t.method_b}"[:40]
            p = "-" if t.p is None else f"{t.p:.3g}"
            p_holm = "-" if t.p_holm is None else f"{t.p_holm:.3g}" + ("*" if t.significant else "")
            why = f"  ({t.note})" if t.note else ""
            lines.append(f"{t.metric:6s} {pair:40s} {t.n:4d} {t.test:22s} {p:>9} {p_holm:>9}{why}")
        if any(t.significant for t in self.tests):
            lines.append("* significant at alpha 0.05 after Holm correction")
        lines.append("")
        lines.append(f"results: {self.out_dir}")
        return "\n".join(lines)


def comparison_rows(summaries: list[MethodSummary]) -> tuple[list[str], list[list[str]], str]:
    """(header, rows, alignment) of the methods table for LaTeX."""
    header = ["Method", "Neurons", "AUC", "SD", "AUC 95% CI", "MAD", "SD", "MAD 95% CI"]
    rows = [
        [s.method, str(s.neurons), f"{s.mean_auc:.3f}", f"{s.sd_auc:.3f}",
         f"[{s.auc_low:.3f}, {s.auc_high:.3f}]", f"{s.mean_mad:.2f}", f"{s.sd_mad:.2f}",
         f"[{s.mad_low:.2f}, {s.mad_high:.2f}]"]
        for s in summaries
    ]  # fmt: skip
    return header, rows, "lrrrcrrc"


def tests_rows(tests: list[PairedTest]) -> tuple[list[str], list[list[str]], str]:
    """(header, rows, alignment) of the paired-tests table for LaTeX."""
    header = ["Metric", "Method A", "Method B", "n", "Mean diff.", "Test", "p", "p (Holm)"]

    def fmt(value: float | None, spec: str = ".3g") -> str:
        return "--" if value is None else format(value, spec)

    rows = [
        [t.metric.upper(), t.method_a, t.method_b, str(t.n), fmt(t.difference, ".3f"), t.test,
         fmt(t.p), fmt(t.p_holm) + ("*" if t.significant else "")]
        for t in tests
    ]  # fmt: skip
    return header, rows, "lllrrlrr"
