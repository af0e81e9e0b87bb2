"""An evaluation's result: per-unit scores, method summaries, paired tests, as tables and JSON.

Tables come as data frames (CSV) and as (header, rows, alignment) for a LaTeX writer; the JSON
object is what ``line evaluate --json`` prints (every number finite or None).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from line_core.evaluation.regimes import COLLAPSE_RULE, collapsed_table, regime_label
from line_core.evaluation.stats import (
    MethodSummary,
    PairedTest,
    method_summaries,
    paired_tests,
)

#: Columns of results.csv / results.parquet, in order (one row per method, control and unit).
RESULT_COLUMNS = (
    "method", "control", "layer", "unit", "label", "auc", "mad", "u_statistic", "p_value",
    "n_images", "n_control", "auc_low", "auc_high", "mean_activation", "collapsed",
    "rendered_as", "prompt", "drawable", "unrendered",
)  # fmt: skip


def number(value: Any, digits: int = 4) -> float | None:
    """A finite rounded float for JSON, or None (JSON has no NaN)."""
    if value is None:
        return None
    value = float(value)
    return round(value, digits) if math.isfinite(value) else None


def _common_units(results: pd.DataFrame) -> set[int]:
    """Units every method of ``results`` labelled."""
    per_method = [set(rows["unit"]) for _, rows in results.groupby("method", sort=False)]
    return set.intersection(*per_method) if per_method else set()


@dataclass
class RegimeReport:
    """Method summaries and paired tests under one control regime ("generator" or "natural").

    Holm's correction runs across the pairs of one metric within the regime: each regime is a
    family of hypotheses of its own.
    """

    control: str
    summaries: list[MethodSummary]
    #: The same summaries over the units every method labelled (empty when there are none).
    common: list[MethodSummary]
    tests: list[PairedTest]

    @classmethod
    def of(cls, results: pd.DataFrame, control: str, seed: int = 0) -> RegimeReport:
        """The report of the rows of ``results`` scored against ``control``."""
        rows = results[results["control"] == control]
        common = rows[rows["unit"].isin(_common_units(rows))]
        return cls(
            control,
            method_summaries(rows, seed=seed),
            method_summaries(common, seed=seed) if len(common) else [],
            paired_tests(rows),
        )


@dataclass
class EvaluationResult:
    """Everything one evaluation produced (also written to ``out_dir``).

    ``regimes`` holds one report per control regime, the generator-matched one first when
    scored; ``summaries``, ``common`` and ``tests`` are the first regime's.
    """

    out_dir: Path
    results: pd.DataFrame
    regimes: list[RegimeReport]
    manifest: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    @property
    def summaries(self) -> list[MethodSummary]:
        """The first regime's method summaries."""
        return self.regimes[0].summaries

    @property
    def common(self) -> list[MethodSummary]:
        """The first regime's summaries over the units every method labelled."""
        return self.regimes[0].common

    @property
    def tests(self) -> list[PairedTest]:
        """The first regime's paired tests."""
        return self.regimes[0].tests

    def regime(self, control: str) -> RegimeReport:
        """The report of one regime (KeyError when it was not scored)."""
        for report in self.regimes:
            if report.control == control:
                return report
        raise KeyError(control)

    def undrawable(self, method: str) -> int:
        """How many of a method's labels have no word the generator can draw."""
        rows = self.results[self.results["method"] == method].drop_duplicates("unit")
        return int((~rows["drawable"].astype(bool)).sum())

    def collapsed(self) -> pd.DataFrame:
        """Labels strong against natural images but near chance against the generator's."""
        return collapsed_table(self.results)

    def _method_rows(self, report: RegimeReport) -> list[tuple[MethodSummary, Any]]:
        common = {s.method: s for s in report.common}
        return [(s, common.get(s.method)) for s in report.summaries]

    def comparison(self) -> pd.DataFrame:
        """One row per (control, method): summary over its units and the shared ones."""
        rows = []
        for report in self.regimes:
            for summary, shared in self._method_rows(report):
                rows.append(
                    {
                        "control": report.control,
                        **summary.to_dict(),
                        "common_neurons": shared.neurons if shared else 0,
                        "common_mean_auc": shared.mean_auc if shared else None,
                        "common_mean_mad": shared.mean_mad if shared else None,
                        "undrawable": self.undrawable(summary.method),
                        "collapsed": self._collapsed_count(summary.method),
                    }
                )
        return pd.DataFrame(rows)

    def _collapsed_count(self, method: str) -> int:
        rows = self.results[self.results["method"] == method].drop_duplicates("unit")
        return int(rows["collapsed"].astype(bool).sum())

    def tests_frame(self) -> pd.DataFrame:
        """One row per (control, metric, pair of methods)."""
        columns = ["control", *PairedTest.__dataclass_fields__]
        rows = [{"control": r.control, **t.to_dict()} for r in self.regimes for t in r.tests]
        return pd.DataFrame(rows, columns=columns)

    def to_json(self) -> dict[str, Any]:
        """The one object ``line evaluate --json`` prints."""
        methods = []
        for report in self.regimes:
            for s, shared in self._method_rows(report):
                methods.append(
                    {
                        "name": s.method,
                        "control": report.control,
                        "neurons": s.neurons,
                        "mean_auc": number(s.mean_auc),
                        "sd_auc": number(s.sd_auc),
                        "auc_ci": [number(s.auc_low), number(s.auc_high)],
                        "mean_mad": number(s.mean_mad),
                        "sd_mad": number(s.sd_mad),
                        "mad_ci": [number(s.mad_low), number(s.mad_high)],
                        "undrawable": self.undrawable(s.method),
                        "collapsed": self._collapsed_count(s.method),
                        "common": {
                            "neurons": shared.neurons if shared else 0,
                            "mean_auc": number(shared.mean_auc) if shared else None,
                            "mean_mad": number(shared.mean_mad) if shared else None,
                        },
                    }
                )
        tests = [
            {
                "control": r.control, "metric": t.metric, "method_a": t.method_a,
                "method_b": t.method_b, "test": t.test, "p": number(t.p, 6),
                "p_holm": number(t.p_holm, 6), "significant": t.significant, "n": t.n,
                "mean_difference": number(t.difference), "note": t.note,
            }
            for r in self.regimes for t in r.tests
        ]  # fmt: skip
        collapsed = [
            {"method": row.method, "unit": int(row.unit), "label": row.label,
             "auc_natural": number(row.auc_natural), "auc_generator": number(row.auc_generator)}
            for row in self.collapsed().itertuples()
        ]  # fmt: skip
        info = self.manifest
        natural = info.get("natural_control")
        return {
            "out_dir": str(self.out_dir),
            "model": info.get("model"),
            "layer": info.get("layer"),
            "n_images": info.get("n_images"),
            "control": info.get("control", {}).get("spec"),
            "natural_control": natural.get("spec") if natural else None,
            "controls": [r.control for r in self.regimes],
            "generator": info.get("generator", {}).get("name"),
            "labels_rendered": info.get("labels_rendered"),
            "methods": methods,
            "tests": tests,
            "collapsed": collapsed,
            "warnings": list(self.warnings),
        }

    def text(self) -> str:
        """A plain-text report: per regime the methods table and the tests; then collapses."""
        lines: list[str] = []
        for report in self.regimes:
            if len(self.regimes) > 1:
                lines += [f"control: {regime_label(report.control)}", ""]
            lines += _methods_text(report) + [""]
        if any(t.significant for r in self.regimes for t in r.tests):
            lines.append("* significant at alpha 0.05 after Holm correction")
            lines.append("")
        if len(self.regimes) > 1:
            collapsed = self.collapsed()
            lines.append(
                f"collapsed under the generator-matched control ({COLLAPSE_RULE}): {len(collapsed)}"
            )
            for row in collapsed.itertuples():
                lines.append(
                    f"  {row.method} unit {row.unit} '{row.label}': natural "
                    f"{row.auc_natural:.3f}, generator {row.auc_generator:.3f}"
                )
            lines.append("")
        lines.append(f"results: {self.out_dir}")
        return "\n".join(lines)


def _methods_text(report: RegimeReport) -> list[str]:
    """One regime's methods table, then its tests, as plain-text lines."""
    lines = [
        f"{'method':24s} {'units':>5} {'AUC':>6} {'sd':>5} {'95% CI':>15} {'MAD':>6} {'sd':>5}"
    ]
    for s in report.summaries:
        ci = f"[{s.auc_low:.3f}, {s.auc_high:.3f}]"
        lines.append(
            f"{s.method[:24]:24s} {s.neurons:5d} {s.mean_auc:6.3f} {s.sd_auc:5.3f} "
            f"{ci:>15} {s.mean_mad:6.2f} {s.sd_mad:5.2f}"
        )
    if report.tests:
        lines.append("")
        lines.append(f"{'metric':6s} {'A vs B':40s} {'n':>4} {'test':22s} {'p':>9} {'p (Holm)':>9}")
    for t in report.tests:
        pair = f"{t.method_a} vs {t.method_b}"[:40]
        p = "-" if t.p is None else f"{t.p:.3g}"
        p_holm = "-" if t.p_holm is None else f"{t.p_holm:.3g}" + ("*" if t.significant else "")
        why = f"  ({t.note})" if t.note else ""
        lines.append(f"{t.metric:6s} {pair:40s} {t.n:4d} {t.test:22s} {p:>9} {p_holm:>9}{why}")
    return lines


def _with_control(
    regimes: list[RegimeReport],
    header: list[str],
    align: str,
    rows_of: Callable[[RegimeReport], list[list[str]]],
) -> tuple[list[str], list[list[str]], str]:
    """A LaTeX table over every regime: a leading Control column when there are several."""
    if len(regimes) == 1:
        return header, rows_of(regimes[0]), align
    rows = [[regime_label(r.control), *row] for r in regimes for row in rows_of(r)]
    return ["Control", *header], rows, "l" + align


def comparison_rows(regimes: list[RegimeReport]) -> tuple[list[str], list[list[str]], str]:
    """(header, rows, alignment) of the methods table for LaTeX."""
    header = ["Method", "Neurons", "AUC", "SD", "AUC 95% CI", "MAD", "SD", "MAD 95% CI"]

    def rows_of(report: RegimeReport) -> list[list[str]]:
        return [
            [s.method, str(s.neurons), f"{s.mean_auc:.3f}", f"{s.sd_auc:.3f}",
             f"[{s.auc_low:.3f}, {s.auc_high:.3f}]", f"{s.mean_mad:.2f}", f"{s.sd_mad:.2f}",
             f"[{s.mad_low:.2f}, {s.mad_high:.2f}]"]
            for s in report.summaries
        ]  # fmt: skip

    return _with_control(regimes, header, "lrrrcrrc", rows_of)


def tests_rows(regimes: list[RegimeReport]) -> tuple[list[str], list[list[str]], str]:
    """(header, rows, alignment) of the paired-tests table for LaTeX."""
    header = ["Metric", "Method A", "Method B", "n", "Mean diff.", "Test", "p", "p (Holm)"]

    def fmt(value: float | None, spec: str = ".3g") -> str:
        return "--" if value is None else format(value, spec)

    def rows_of(report: RegimeReport) -> list[list[str]]:
        return [
            [t.metric.upper(), t.method_a, t.method_b, str(t.n), fmt(t.difference, ".3f"),
             t.test, fmt(t.p), fmt(t.p_holm) + ("*" if t.significant else "")]
            for t in report.tests
        ]  # fmt: skip

    return _with_control(regimes, header, "lllrrlrr", rows_of)
