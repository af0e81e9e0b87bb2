"""Layer overview: every explained unit of one layer, sortable by score and polysemanticity."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import analysis, state
from dashboard.errors import guard

NEURON_URL = "neuron"  # the url_path app.py gives the neuron page


def rows(members: list[state.RunSummary]) -> pd.DataFrame:
    """One row per run of the layer (newest run of a unit first)."""
    out = []
    for summary in members:
        poly = analysis.poly_report(summary.run_dir) if summary.auc is not None else None
        out.append({
            "unit": summary.neuron,
            "label": summary.label or "",
            "AUC": summary.auc,
            "90% CI": (f"[{summary.auc_low:.2f}, {summary.auc_high:.2f}]"
                       if summary.auc is not None else ""),
            "MAD": summary.mad,
            "baseline": summary.baseline,
            "polysemanticity": round(poly.score, 2) if poly else None,
            "meanings": poly.n_groups if poly else None,
            "proposer": summary.proposer,
            "status": summary.status,
            "open": f"/{NEURON_URL}?run={summary.key}&layer={summary.layer}&unit={summary.neuron}",
        })
    return pd.DataFrame(out)


def render() -> None:
    """The layer overview page."""
    st.title("Layer overview", anchor=False)
    runs = [s for s in state.summaries() if not s.error]
    if not runs:
        st.info("No runs yet: start one on the **Explore** page.", icon=":material/info:")
        return
    models = sorted({s.model for s in runs})
    cols = st.columns([2, 2, 2])
    wanted_model = st.query_params.get("model")
    model = cols[0].selectbox(
        "Model", models, index=models.index(wanted_model) if wanted_model in models else 0,
        key="ly_model",
    )
    layers = sorted({s.layer for s in runs if s.model == model})
    wanted_layer = st.query_params.get("layer")
    layer = cols[1].selectbox(
        "Layer", layers, index=layers.index(wanted_layer) if wanted_layer in layers else 0,
        key="ly_layer",
    )
    order = cols[2].selectbox("Sort by", ["AUC", "polysemanticity", "unit", "MAD"], key="ly_sort")
    st.query_params["model"] = model
    st.query_params["layer"] = layer
    members = [s for s in runs if s.model == model and s.layer == layer]
    frame = rows(members)
    frame = frame.sort_values(order, ascending=order == "unit", na_position="last")
    st.caption(
        f"{len(members)} run(s) of {frame['unit'].nunique()} unit(s). Polysemanticity = effective "
        "number of distinct meanings among the high-scoring concepts (1 = monosemantic). Click a "
        "column header to sort; 'open' links to the neuron page."
    )
    st.dataframe(
        frame, hide_index=True, width="stretch", key="ly_table",
        column_config={
            "AUC": st.column_config.ProgressColumn("AUC", min_value=0.0, max_value=1.0,
                                                   format="%.3f"),
            "MAD": st.column_config.NumberColumn("MAD", format="%.2f"),
            "baseline": st.column_config.NumberColumn(
                "baseline", format="%.2f", help="random-concept baseline AUC of the run"),
            "polysemanticity": st.column_config.NumberColumn("polysemanticity", format="%.2f"),
            "open": st.column_config.LinkColumn("open", display_text="neuron page"),
        },
    )


with guard("show the layer overview"):
    render()
