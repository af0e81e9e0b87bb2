"""Polysemanticity: how many distinct meanings drive the unit, with their images."""

from __future__ import annotations

import streamlit as st

from dashboard import analysis, charts, state
from dashboard.errors import guard
from dashboard.theme import PLOTLY_CONFIG
from dashboard.widgets import image_strip, page_link, run_picker

GROUP_IMAGES = 8
FORMULA = (
    r"\text{polysemanticity} = e^{H},\quad H = -\sum_g p_g \ln p_g,\quad "
    r"p_g = \frac{\mathrm{AUC}_g - 0.5}{\sum_h (\mathrm{AUC}_h - 0.5)}"
)


def _caption(concept: str, activation: float) -> str:
    short = concept if len(concept) <= 11 else concept[:10] + "…"
    return f"{short} {activation:.2f}"


def knobs() -> tuple[float, float, float, float]:
    """The analysis settings (defaults are the analysis module's)."""
    with st.expander("Settings", icon=":material/tune:"):
        cols = st.columns(4)
        margin = cols[0].slider("Margin below the best", 0.0, 0.3, 0.1, 0.01, key="po_margin",
                                help="a concept is high-scoring if AUC ≥ best − margin …")
        min_auc = cols[1].slider("Minimum AUC", 0.5, 0.95, 0.6, 0.01, key="po_min_auc",
                                 help="… and AUC ≥ this floor")
        weight = cols[2].slider("Text weight", 0.0, 1.0, 0.8, 0.05, key="po_weight",
                                help="share of text distance vs activation-distribution distance")
        threshold = cols[3].slider("Grouping threshold", 0.3, 0.9, 0.62, 0.01,
                                   key="po_threshold", help="merge concepts closer than this")
    return margin, min_auc, weight, threshold


def render() -> None:
    """The polysemanticity page."""
    notices = st.container()
    top = st.columns([3, 2], vertical_alignment="bottom")
    with top[1]:
        summary = run_picker(state.summaries(), key="po_run", errors=notices)
    with top[0]:
        st.title("Polysemanticity", anchor=False)
    if summary is None:
        return
    margin, min_auc, weight, threshold = knobs()
    report = analysis.poly_report(summary.run_dir, margin, min_auc, weight, threshold)
    if report.best_concept is None:
        st.info("Nothing scored yet in this run.", icon=":material/info:")
        return
    cols = st.columns([1.4, 1, 1, 2.6])
    cols[0].metric("Polysemanticity score", f"{report.score:.2f}",
                   help="effective number of meanings; 1 = monosemantic")
    cols[1].metric("Distinct meanings", report.n_groups)
    cols[2].metric("Threshold AUC", f"{report.threshold:.2f}",
                   help=f"{len(report.high_concepts)} concepts at or above it")
    with cols[3]:
        st.markdown(f"**{summary.title}** · label `{summary.label}`")
        page_link("neuron", "Neuron page", ":material/neurology:", run=summary.key,
                  layer=summary.layer, unit=summary.neuron)
    with st.container(border=True):
        st.markdown("**Definition**")
        st.latex(FORMULA)
        st.caption(f"{report.definition}.")
    left, right = st.columns([3, 2], gap="medium")
    with left:
        st.markdown("**Tried concepts** · 2-D PCA of their MiniLM text embeddings")
        st.plotly_chart(charts.concept_map(report.points, report.threshold), key="po_map",
                        config=PLOTLY_CONFIG)
        st.caption(
            "Large labelled symbols: high-scoring concepts, one symbol per group; dots: the "
            "rest. Colour: AUC (darker is higher). Nearby points have similar words (MiniLM), "
            "not necessarily similar images."
        )
    with right:
        st.markdown("**Groups**")
        for group in report.groups:
            with st.container(border=True):
                st.markdown(
                    f"**Group {group.index}** · best `{group.best_concept}` "
                    f"(AUC {group.best_auc:.3f}) · share {group.share:.0%}"
                )
                st.caption(", ".join(group.concepts))
                images = group.images[:GROUP_IMAGES]
                image_strip(
                    summary.run_dir, [g.path for g in images],
                    [_caption(g.concept, g.activation) for g in images], width=84,
                )


with guard("show the polysemanticity analysis"):
    render()
