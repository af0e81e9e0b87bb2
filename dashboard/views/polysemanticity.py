"""Polysemanticity: which drivers make the unit fire, with the evidence that tells them apart."""

from __future__ import annotations

import streamlit as st

from dashboard import analysis, state
from dashboard.errors import guard
from dashboard.theme import PLOTLY_CONFIG
from dashboard.widgets import image_strip, page_link, run_picker
from line_core.figures.poly_map import poly_map_figure

GROUP_IMAGES = 8
#: Two lines, so the definition fits the half-width column it is shown in.
FORMULA = (
    r"\begin{aligned}\text{polysemanticity} &= e^{H},\quad H = -\sum_g p_g \ln p_g,\\ "
    r"p_g &= \frac{s_g}{\sum_h s_h},\quad s_g = \text{strength of group } g\end{aligned}"
)


def _caption(concept: str, activation: float) -> str:
    short = concept if len(concept) <= 11 else concept[:10] + "…"
    return f"{short} {activation:.2f}"


def knobs() -> tuple[float, float, float, float]:
    """The analysis settings (defaults are the analysis module's)."""
    with st.expander("Settings", icon=":material/tune:"):
        cols = st.columns(4)
        margin = cols[0].slider(
            "Margin below the best",
            0.0,
            0.3,
            0.1,
            0.01,
            key="po_margin",
            help="a concept drives a group if AUC ≥ best − margin …",
        )
        min_auc = cols[1].slider(
            "Minimum AUC", 0.5, 0.95, 0.6, 0.01, key="po_min_auc", help="… and AUC ≥ this floor …"
        )
        strength = cols[2].slider(
            "Minimum strength",
            0.1,
            0.9,
            0.5,
            0.05,
            key="po_strength",
            help="… and its rise above the control is at least this "
            "share of the strongest concept's (weaker ones are not "
            "drivers)",
        )
        synonyms = cols[3].slider(
            "Synonym similarity",
            0.5,
            1.01,
            0.8,
            0.01,
            key="po_synonyms",
            help="merge two groups whose best concepts "
            "are this similar in words (MiniLM); above 1: never",
        )
    return margin, min_auc, strength, synonyms


def _group(summary: object, group: object) -> None:
    with st.container(border=True):
        st.markdown(
            f"**Group {group.index}** · `{group.term}` · best `{group.best_concept}` "
            f"(AUC {group.best_auc:.3f} [{group.best_auc_low:.2f}, {group.best_auc_high:.2f}], "
            f"strength {group.strength:.2f})"
        )
        for test in group.tests:
            tag = " *(probe)*" if test.probe else ""
            st.markdown(f"- {test.text}{tag}")
        st.caption(", ".join(group.concepts))
        images = group.images[:GROUP_IMAGES]
        image_strip(
            summary.run_dir,
            [g.path for g in images],
            [_caption(g.concept, g.activation) for g in images],
            width=84,
        )


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
    report = analysis.poly_report(summary.run_dir, *knobs())
    if report.best_concept is None:
        st.info("Nothing scored yet in this run.", icon=":material/info:")
        return
    st.subheader(f"Verdict: {report.verdict}", anchor=False)
    cols = st.columns([1.4, 1, 1, 2.6])
    cols[0].metric(
        "Polysemanticity score",
        f"{report.score:.2f}",
        help="effective number of drivers, weighted by strength; 1 = one driver",
    )
    cols[1].metric("Distinct drivers", report.n_groups)
    cols[2].metric(
        "Probe concepts",
        report.n_probes,
        help="driver-separating tests the loop ran (source 'probe')",
    )
    with cols[3]:
        st.markdown(f"**{summary.title}** · label `{summary.label}`")
        st.markdown(f"Formula: `{report.formula or '-'}` (soft IoU {report.formula_iou:.2f})")
        page_link(
            "neuron",
            "Neuron page",
            ":material/neurology:",
            run=summary.key,
            layer=summary.layer,
            unit=summary.neuron,
        )
    left, right = st.columns([3, 2], gap="medium")
    with right:
        st.markdown("**Drivers** · each with the tests that separate it from the others")
        for group in report.groups:
            _group(summary, group)
        if report.mixed:
            st.caption("Mixed (satisfy several groups, joined none): " + ", ".join(report.mixed))
    with left:
        st.markdown("**Tried concepts** · 2-D PCA of their MiniLM text embeddings")
        st.plotly_chart(poly_map_figure(report, preset=None), key="po_map",
                        config=PLOTLY_CONFIG, width="content", theme=None)
        st.caption(
            "The same map as the exported figure. Outlined points: concepts that drive a group "
            "(hull in the group's colour; a number where the name does not fit, with the key "
            "under the map); dots: the rest. Colour: AUC. Nearby points have similar words, not "
            "necessarily the same driver: the groups come from the attribute formula."
        )
        with st.container(border=True):
            st.markdown("**Definition**")
            st.latex(FORMULA)
            st.caption(f"{report.definition}.")


with guard("show the polysemanticity analysis"):
    render()
