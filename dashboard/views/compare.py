"""Compare two runs side by side (two proposers on one unit, or a reproducibility re-run)."""

from __future__ import annotations

import streamlit as st

from dashboard import analysis, charts, state
from dashboard.errors import guard
from dashboard.live import POLL_SECONDS
from dashboard.theme import PLOTLY_CONFIG
from dashboard.widgets import record_images, records_table, run_picker, status_badge


def side(summary: state.RunSummary, key: str, name: str) -> None:
    """One run's label, score, settings, top concepts and the best concept's images."""
    hist = state.history(summary.run_dir)
    baseline = hist.baseline()
    with st.container(border=True):
        st.markdown(f"**{name}** · **{summary.label or '(no label yet)'}**")
        status_badge(summary.status)
        score = (f"AUC {summary.auc:.3f} [{summary.auc_low:.2f}, {summary.auc_high:.2f}]"
                 if summary.auc is not None else "not scored yet")
        base = f" · baseline {baseline.mean:.2f}" if baseline else ""
        st.caption(
            f"{summary.title} · proposer `{summary.proposer}` · generator "
            f"`{summary.generator}` · {score}{base}"
        )
        best = hist.best()
        if best is not None:
            record_images(summary.run_dir, best, width=84)
        top = sorted(hist.unique_records(), key=lambda r: r.rank_key, reverse=True)
        records_table(top[:10], key=f"{key}_top", hist=hist,
                      columns=("concept", "status", "source", "AUC", "90% CI"))


def body(a: state.RunSummary, b: state.RunSummary) -> None:
    """Overlap metrics, the curves and the two sides."""
    a = state.summarize(a.run_dir)
    b = state.summarize(b.run_dir)
    result = analysis.comparison(a.run_dir, b.run_dir)
    cols = st.columns(4)
    cols[0].metric("Label similarity", f"{result.label_similarity:.2f}",
                   help="cosine of the two labels' MiniLM embeddings")
    cols[1].metric("Shared concepts", len(result.shared_concepts),
                   help=", ".join(result.shared_concepts[:20]) or None)
    cols[2].metric("Jaccard overlap", f"{result.jaccard:.2f}")
    cols[3].metric("Semantic overlap", f"{result.semantic_overlap:.2f}",
                   help="share of concepts with a near neighbour (cosine ≥ 0.8) in the other run")
    st.markdown("**Best AUC so far** per iteration")
    st.plotly_chart(
        charts.compare_curves([result.curve_a, result.curve_b],
                              [f"A: {a.proposer}", f"B: {b.proposer}"]),
        key="cmp_curves", config=PLOTLY_CONFIG,
    )
    left, right = st.columns(2, gap="medium")
    with left:
        side(a, "cmp_a", "A")
    with right:
        side(b, "cmp_b", "B")


_polling = st.fragment(run_every=POLL_SECONDS * 2)(body)


def render() -> None:
    """The comparison page."""
    st.title("Compare runs", anchor=False)
    summaries = state.summaries()
    if len([s for s in summaries if not s.error]) < 2:
        st.info("Two runs are needed: start another on the Explore page, or re-run one from "
                "its neuron page.", icon=":material/info:")
        return
    cols = st.columns(2)
    with cols[0]:
        a = run_picker(summaries, key="cmp_a_run", param="a", label="Run A")
    others = [s for s in summaries if a is None or s.key != a.key]
    same_unit = [
        s.key for s in others
        if a is not None and (s.model, s.layer, s.neuron) == (a.model, a.layer, a.neuron)
    ]
    with cols[1]:
        b = run_picker(others, key="cmp_b_run", param="b", label="Run B",
                       default=same_unit[0] if same_unit else None)
    if a is None or b is None:
        return
    if a.model != b.model or a.layer != b.layer or a.neuron != b.neuron:
        st.caption(":orange[The two runs explain different units.]")
    live = ("running", "starting", "review")
    if a.status in live or b.status in live:
        _polling(a, b)
    else:
        body(a, b)


with guard("compare the runs"):
    render()
