"""One finished evaluation on the Evaluate page: methods, paired tests, scatter, collapses, files.

Everything shown is read back from the evaluation's folder (``read_folder``), so a fresh
evaluation and one opened from disk look the same.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard import state
from dashboard.evaluation_charts import METRIC_TITLES, method_scatter, paired_units
from dashboard.export_panel import _download
from dashboard.theme import PLOTLY_CONFIG
from line_core.evaluation.output import MANIFEST_NAME, StoredEvaluation
from line_core.evaluation.regimes import (
    COLLAPSE_GENERATOR_MAX_AUC,
    COLLAPSE_NATURAL_MIN_AUC,
    collapsed_table,
    regime_label,
)

#: Height of the scatter; the units table beside it grows up to it (rows of ROW_PIXELS).
SCATTER_HEIGHT = 420
ROW_PIXELS = 35
#: The files offered for download, in this order.
DOWNLOADS = ("results.csv", "comparison.csv", "tests.csv", "comparison.tex", "tests.tex")


def evaluations_dir() -> Path:
    """Where the dashboard writes evaluations: ``evaluations/`` beside the runs folder."""
    return state.runs_dir().parent / "evaluations"


def list_evaluations(root: Path | None = None) -> list[Path]:
    """Evaluation folders under ``root`` (default :func:`evaluations_dir`), newest first."""
    folder = root or evaluations_dir()
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if p.is_dir() and (p / MANIFEST_NAME).is_file()]
    return sorted(found, key=lambda p: (p / MANIFEST_NAME).stat().st_mtime, reverse=True)


def _interval(low: object, high: object, digits: int) -> str:
    if pd.isna(low) or pd.isna(high):
        return ""
    return f"[{float(low):.{digits}f}, {float(high):.{digits}f}]"


def methods_table(comparison: pd.DataFrame) -> pd.DataFrame:
    """The comparison table as shown: one row per (control, method), intervals as text."""
    return pd.DataFrame({
        "control": comparison["control"],
        "method": comparison["method"],
        "neurons": comparison["neurons"],
        "AUC": comparison["mean_auc"],
        "AUC sd": comparison["sd_auc"],
        "AUC 95% CI": [_interval(lo, hi, 3) for lo, hi in
                       zip(comparison["auc_low"], comparison["auc_high"], strict=True)],
        "MAD": comparison["mean_mad"],
        "MAD sd": comparison["sd_mad"],
        "MAD 95% CI": [_interval(lo, hi, 2) for lo, hi in
                       zip(comparison["mad_low"], comparison["mad_high"], strict=True)],
        "undrawable": comparison.get("undrawable", 0),
        "collapsed": comparison.get("collapsed", 0),
    })  # fmt: skip


def tests_table(tests: pd.DataFrame) -> pd.DataFrame:
    """The paired tests as shown: p-values, Holm-corrected p and the decision."""
    decision = [
        "not testable" if pd.isna(p) else ("significant" if bool(sig) else "not significant")
        for p, sig in zip(tests["p_holm"], tests["significant"], strict=True)
    ]
    return pd.DataFrame({
        "control": tests["control"],
        "metric": tests["metric"].map(lambda m: METRIC_TITLES.get(m, m)),
        "method A": tests["method_a"], "method B": tests["method_b"], "n": tests["n"],
        "mean A − B": tests["difference"], "test": tests["test"], "p": tests["p"],
        "p (Holm)": tests["p_holm"], "Holm, α 0.05": decision,
        "note": tests["note"].fillna(""),
    })  # fmt: skip


_number = st.column_config.NumberColumn
TABLE_COLUMNS = {
    "control": st.column_config.TextColumn(
        "control", width="small",
        help="generator: the generator-matched control (neutral prompts rendered by the same "
             "generator); natural: the folder of natural images (the CoSy regime)"),
    "neurons": _number("neurons", width="small"),
    "AUC": st.column_config.ProgressColumn("AUC", min_value=0.0, max_value=1.0, format="%.3f",
                                           width="small", help="mean AUC over the method's units"),
    "AUC sd": _number("AUC sd", format="%.3f", width="small"),
    "AUC 95% CI": st.column_config.TextColumn("AUC 95% CI", help="bootstrap interval of the mean"),
    "MAD": _number("MAD", format="%.2f", width="small", help="mean MAD"),
    "MAD sd": _number("MAD sd", format="%.2f", width="small"),
    "MAD 95% CI": st.column_config.TextColumn("MAD 95% CI", help="bootstrap interval of the mean"),
    "undrawable": _number("undrawable", width="small",
                          help="labels with no word the generator can draw"),
    "collapsed": _number("collapsed", width="small",
                         help="labels strong on natural images, near chance on generated ones"),
    "metric": st.column_config.TextColumn("metric", width="small"),
    "n": _number("n", width="small", help="units both methods labelled"),
    "mean A − B": _number("mean A − B", format="%.3f", width="small"),
    "p": _number("p", format="%.3g", width="small"),
    "p (Holm)": _number("p (Holm)", format="%.3g", width="small"),
}  # fmt: skip


def header(stored: StoredEvaluation) -> None:
    """What was evaluated, against what, and how long it took."""
    info = stored.manifest
    controls = [info.get("control", {})]
    if info.get("natural_control"):
        controls.append(info["natural_control"])
    against = " and ".join(str(c.get("description", c.get("spec", "?"))) for c in controls)
    st.caption(
        f"**{info.get('model', '?')}** · layer `{info.get('layer', '?')}` · "
        f"{len(stored.methods)} method(s) · {info.get('n_images', '?')} fresh images per label "
        f"({info.get('labels_rendered', '?')} labels rendered) · against {against} · "
        f"{info.get('seconds', '?')} s · `{stored.folder}`"
    )
    for warning in info.get("warnings", []):
        st.warning(warning, icon=":material/warning:")


def default_pair(stored: StoredEvaluation) -> tuple[str, str]:
    """The two methods that share the most units (the first such pair in method order)."""
    units = {m: set(rows["unit"]) for m, rows in stored.results.groupby("method", sort=False)}
    methods = stored.methods
    pairs = [(a, b) for i, a in enumerate(methods) for b in methods[i + 1 :]]
    return max(pairs, key=lambda pair: len(units[pair[0]] & units[pair[1]]))


def _keep_valid(key: str, options: list[str], default: str) -> None:
    """Reset a selectbox's state that names an option of another evaluation."""
    if st.session_state.get(key) not in options:
        st.session_state[key] = default


def scatter_panel(stored: StoredEvaluation, key: str) -> None:
    """Method A against method B, unit by unit, under a chosen control and metric."""
    methods = stored.methods
    if len(methods) < 2:
        st.info(
            "The per-neuron scatter compares two methods: add a second label source.",
            icon=":material/info:",
        )
        return
    first, second = default_pair(stored)
    _keep_valid(f"{key}_a", methods, first)
    _keep_valid(f"{key}_control", stored.controls, stored.controls[0])
    cols = st.columns([3, 3, 2, 3])
    a = cols[0].selectbox("Method A (x)", methods, key=f"{key}_a")
    others = [m for m in methods if m != a]
    _keep_valid(f"{key}_b", others, second if second in others else others[0])
    b = cols[1].selectbox("Method B (y)", others, key=f"{key}_b")
    metric = cols[2].selectbox(
        "Metric", list(METRIC_TITLES), key=f"{key}_metric", format_func=METRIC_TITLES.get
    )
    control = cols[3].selectbox(
        "Control", stored.controls, key=f"{key}_control", format_func=regime_label
    )
    shared = paired_units(stored.results, a, b, control, metric)
    if shared.empty:
        st.info(f"{a} and {b} share no unit: nothing to compare.", icon=":material/info:")
        return
    higher_b = int((shared[f"{metric}_b"] > shared[f"{metric}_a"]).sum())
    higher_a = int((shared[f"{metric}_b"] < shared[f"{metric}_a"]).sum())
    st.caption(
        f"{len(shared)} unit(s) labelled by both · B higher on {higher_b}, A higher on "
        f"{higher_a} · dashed: A = B · ✕: a label that collapses"
    )
    left, right = st.columns([1, 1], gap="medium")
    with left:
        st.plotly_chart(
            method_scatter(stored.results, a, b, control, metric),
            key=f"{key}_scatter",
            config=PLOTLY_CONFIG,
        )
    title = METRIC_TITLES.get(metric, metric)
    with right:
        st.dataframe(
            shared.rename(columns={"label_a": "label A", f"{metric}_a": f"{title} A",
                                   "label_b": "label B", f"{metric}_b": f"{title} B"}),
            hide_index=True, width="stretch", key=f"{key}_units",
            height=min(SCATTER_HEIGHT, ROW_PIXELS * (len(shared) + 1) + 3),
            column_order=["unit", "label A", f"{title} A", "label B", f"{title} B"],
            column_config={f"{title} A": _number(format="%.3f", width="small"),
                           f"{title} B": _number(format="%.3f", width="small"),
                           "unit": _number(width="small")},
        )  # fmt: skip


def collapse_panel(stored: StoredEvaluation) -> None:
    """The labels that collapse under the generator-matched control, or why there are none."""
    if len(stored.controls) < 2:
        st.caption(
            "Collapse flags need both controls: add a folder of natural images "
            "(the CoSy regime) to the evaluation."
        )
        return
    table = collapsed_table(stored.results)
    rule = (
        f"AUC ≥ {COLLAPSE_NATURAL_MIN_AUC} against natural images and ≤ "
        f"{COLLAPSE_GENERATOR_MAX_AUC} against the generator-matched control"
    )
    if table.empty:
        st.success(f"No label collapses ({rule}).", icon=":material/task_alt:")
        return
    st.caption(
        f"{len(table)} label(s) with {rule}: they respond to 'looks generated', not to the concept."
    )
    st.dataframe(
        table,
        hide_index=True,
        key="ev_collapsed",
        height="content",
        width="stretch",
        column_config={
            "unit": _number("unit", width="small"),
            "auc_natural": _number("AUC natural", format="%.3f",
                                   help="AUC against the natural images"),
            "auc_generator": _number("AUC generator", format="%.3f",
                                     help="AUC against the generator-matched control"),
        },
    )  # fmt: skip


def downloads(stored: StoredEvaluation, key: str) -> None:
    """A download button per table file (CSV and LaTeX)."""
    with st.container(horizontal=True, gap="small"):
        for name in DOWNLOADS:
            path = stored.path(name)
            if path.is_file():
                _download(path, f"{key}_dl_{name}")


def _section(title: str, caption: str, table: pd.DataFrame, key: str) -> None:
    """A heading, what the table shows, and the table at its full height."""
    st.markdown(f"#### {title}")
    st.caption(caption)
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        key=key,
        column_config=TABLE_COLUMNS,
        height="content",
        placeholder="—",
    )


def show(stored: StoredEvaluation, key: str = "ev") -> None:
    """The whole report of one evaluation."""
    header(stored)
    _section(
        "Methods",
        "Mean and SD over each method's units, with 95% bootstrap intervals of "
        "the mean, per control.",
        methods_table(stored.comparison),
        f"{key}_methods",
    )
    _section(
        "Paired tests",
        "On the units both methods labelled: Shapiro-Wilk on the "
        "differences, then a paired t-test or Wilcoxon signed-rank; Holm-corrected across "
        "the pairs of one metric and control.",
        tests_table(stored.tests),
        f"{key}_tests",
    )
    st.markdown("#### Per neuron")
    scatter_panel(stored, key)
    st.markdown("#### Collapse under the generator-matched control")
    collapse_panel(stored)
    st.markdown("#### Files")
    downloads(stored, key)
