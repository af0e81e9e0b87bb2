"""Layer overview: every unit of a layer, one row each, at ``/layers?model=M&layer=L``.

Explained units show their best label across runs; once the layer's concept atlas is built,
every other unit shows its best atlas concept. Select rows and explain them as one sweep
(run in a worker thread that writes only to the run store).
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from dashboard import analysis, backends
from dashboard import units as unit_data
from dashboard.errors import guard
from line_core.analysis.units import UnitRow, UnitRun, layer_rows

UNIT_URL = "unit"  # the url_path app.py gives the unit page
SORTS = {"AUC": "AUC", "atlas AUC": "atlas AUC", "polysemanticity": "polysemanticity",
         "unit": "unit", "MAD": "MAD"}
SHOW = ("every unit", "explained units", "unexplained units")


def frame_of(model: str, layer: str, rows: list[UnitRow],
             runs: dict[int, list[UnitRun]]) -> pd.DataFrame:
    """The table: one row per unit."""
    out = []
    for row in rows:
        best_run = next((r for r in runs.get(row.unit, ()) if r.key == row.best_run), None)
        poly = (analysis.poly_report(best_run.run_dir)
                if best_run is not None and row.auc is not None else None)
        baseline = best_run.history.baseline() if best_run is not None else None
        out.append({
            "unit": row.unit,
            "page": f"/{UNIT_URL}?" + urlencode({"model": model, "layer": layer,
                                                 "unit": row.unit}),
            "label": row.label,
            "AUC": row.auc,
            "MAD": row.mad,
            "baseline": baseline.mean if baseline else None,
            "polysemanticity": round(poly.score, 2) if poly else None,
            "meanings": poly.n_groups if poly else None,
            "runs": row.runs,
            "status": row.status,
            "latest run": row.latest,
            "atlas concept": row.atlas_concept,
            "atlas AUC": row.atlas_auc,
        })
    frame = pd.DataFrame(out)
    for column in ("AUC", "MAD", "baseline", "polysemanticity", "meanings", "atlas AUC"):
        if column in frame:  # None -> NaN: an empty cell, not the word "None"
            frame[column] = pd.to_numeric(frame[column], errors="coerce")
    return frame


def pick(label: str, options: list[str], wanted: str | None, key: str) -> str:
    """A selectbox preselected from the URL (a URL value with no runs is still offered)."""
    if wanted and wanted not in options:
        options = [*options, wanted]
    return st.selectbox(label, options, key=key,
                        index=options.index(wanted) if wanted in options else 0)


def sweep_panel(model: str, layer: str, units: list[int], runs: list[UnitRun]) -> None:
    """Explain the selected units as one sweep in a worker thread."""
    for folder, error in backends.sweep_errors().items():
        st.error(f"The sweep in `{folder}` stopped: {error}", icon=":material/error:")
    if backends.sweeps_running():
        st.info(f"{len(backends.sweeps_running())} sweep(s) running: their units' runs appear "
                "here as they start.", icon=":material/hourglass_top:")
    cols = st.columns([2, 1, 3], vertical_alignment="bottom")
    iterations = cols[1].number_input("Iterations", min_value=1, max_value=100, value=5,
                                      key="ly_sweep_iterations")
    chosen = ", ".join(str(u) for u in units[:12]) + (" …" if len(units) > 12 else "")
    cols[2].caption(f"Selected: {chosen}" if units else
                    "Select units in the table (tick the rows) to explain them as a sweep.")
    if cols[0].button(f"Explain {len(units)} selected unit(s)", key="ly_sweep",
                      icon=":material/play_arrow:", disabled=not units, type="primary"):
        with guard("start the sweep"), st.spinner("Checking the sweep and starting it…"):
            config = unit_data.layer_config(model, layer, runs)
            config = replace(config, iterations=int(iterations))
            folder = backends.start_sweep(config, units)
            st.success(f"Sweep of {len(units)} unit(s) started (`{folder.name}`); each unit's "
                       "run shows here as it starts.", icon=":material/task_alt:")


def render() -> None:
    """The layer overview page."""
    st.title("Layer overview", anchor=False)
    groups = unit_data.runs_by_unit()
    wanted_model, wanted_layer = st.query_params.get("model"), st.query_params.get("layer")
    if not groups and not (wanted_model and wanted_layer):
        st.info("No runs yet: start one on the **Explore** page.", icon=":material/info:")
        return
    cols = st.columns([2, 2, 2, 2])
    with cols[0]:
        model = pick("Model", sorted({k.model for k in groups}), wanted_model, "ly_model")
    with cols[1]:
        layer = pick("Layer", sorted({k.layer for k in groups if k.model == model}),
                     wanted_layer if model == wanted_model or not wanted_model else None,
                     "ly_layer")
    order = cols[2].selectbox("Sort by", list(SORTS), key="ly_sort")
    st.query_params["model"] = model
    st.query_params["layer"] = layer
    runs = {k.unit: v for k, v in groups.items() if k.model == model and k.layer == layer}
    layer_runs = [r for members in runs.values() for r in members]
    unit_data.watch([r.run_dir for r in layer_runs], key="ly_watch")
    found = unit_data.atlas_for(model, layer, layer_runs)
    atlas_best = unit_data.atlas_best(*found) if found is not None else None
    show = cols[3].selectbox("Show", SHOW if atlas_best else SHOW[:2], key="ly_show")
    rows = layer_rows(runs, atlas_best)
    if show == SHOW[1]:
        rows = [r for r in rows if r.runs]
    elif show == SHOW[2]:
        rows = [r for r in rows if not r.runs]
    frame = frame_of(model, layer, rows, runs)
    if not frame.empty:
        frame = frame.sort_values(SORTS[order], ascending=order == "unit", na_position="last",
                                  kind="stable")
    atlas_note = (f" Every other unit shows its best concept in the layer's concept atlas "
                  f"({len(atlas_best)} units)." if atlas_best else
                  " Build the layer's concept atlas (Explore page, setup) to see every unit.")
    st.caption(
        f"{len(runs)} explained unit(s), {len(layer_runs)} run(s); one row per unit (its best "
        f"label across runs).{atlas_note} Polysemanticity = effective number of distinct "
        "meanings among the high-scoring concepts (1 = monosemantic). Click a column header to "
        "sort; 'page' opens the unit page."
    )
    event = st.dataframe(
        frame, hide_index=True, width="stretch", key="ly_table", on_select="rerun",
        selection_mode="multi-row",
        column_config={
            "AUC": st.column_config.ProgressColumn("AUC", min_value=0.0, max_value=1.0,
                                                   format="%.3f"),
            "atlas AUC": st.column_config.NumberColumn(
                "atlas AUC", format="%.3f",
                help="AUC of the unit's best atlas concept against the control set"),
            "MAD": st.column_config.NumberColumn("MAD", format="%.2f"),
            "baseline": st.column_config.NumberColumn(
                "baseline", format="%.2f", help="random-concept baseline AUC of the best run"),
            "polysemanticity": st.column_config.NumberColumn("polysemanticity", format="%.2f"),
            "page": st.column_config.LinkColumn("page", display_text="unit page"),
        },
    )
    selected = [int(frame.iloc[i]["unit"]) for i in event.selection.rows] if not frame.empty \
        else []
    sweep_panel(model, layer, selected, layer_runs)


with guard("show the layer overview"):
    render()
