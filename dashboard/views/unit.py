"""Unit page: one unit across all its runs, at a stable URL ``/unit?model=M&layer=L&unit=N``.

Every run of the unit (latest first, with dates and settings), the best label across them with
its evidence, the images that drive the unit most (from the runs and from the layer's concept
atlas), real exemplars when a run used a folder of real images as control, and a link to each
run's own page. While one of its runs is going, the page follows it.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import units as unit_data
from dashboard.errors import guard
from dashboard.exemplars import top_exemplars
from dashboard.widgets import page_link, record_card, status_badge
from line_core.analysis.units import (
    UnitKey,
    UnitRun,
    atlas_images,
    best_label,
    run_date,
    top_run_images,
)

NEURON_URL = "neuron"  # the url_path app.py gives the neuron page (one run)


def chosen_unit(groups: dict[UnitKey, list[UnitRun]]) -> UnitKey | None:
    """The unit the URL names (one st.error when it names it badly), else a picker's choice."""
    params = st.query_params
    model, layer, unit = params.get("model"), params.get("layer"), params.get("unit")
    if model or layer or unit is not None:
        if not (model and layer and unit is not None):
            st.error("A unit page's link names a model, a layer and a unit: "
                     "`/unit?model=M&layer=L&unit=N`. Pick a unit below.", icon=":material/error:")
        elif not unit.isdigit():
            st.error(f"Unit '{unit}' is not a unit number (0, 1, 2, …); pick a unit below.",
                     icon=":material/error:")
        else:
            return UnitKey(model, layer, int(unit))
    if not groups:
        st.info("No runs yet: start one on the **Explore** page.", icon=":material/info:")
        return None
    keys = list(groups)
    choice = st.selectbox("Unit", keys, key="un_pick", format_func=lambda k: k.title)
    st.query_params["model"] = choice.model
    st.query_params["layer"] = choice.layer
    st.query_params["unit"] = str(choice.unit)
    return choice


def header(key: UnitKey, runs: list[UnitRun]) -> None:
    """The unit, its best label across runs and the counts."""
    st.markdown(f"### {key.model} · `{key.layer}` · unit {key.unit}")
    best = best_label(runs)
    cols = st.columns([3, 2, 1.2, 1.2, 1.2])
    cols[0].metric("Best label across runs", best.record.concept if best else "—")
    record = best.record if best else None
    cols[1].metric(
        "AUC [90% CI]", f"{record.auc:.3f}" if record else "—",
        delta=f"[{record.auc_low:.2f}, {record.auc_high:.2f}]" if record else None,
        delta_color="off", delta_arrow="off",
    )
    cols[2].metric("MAD", f"{record.mad:.2f}" if record else "—")
    cols[3].metric("Runs", len(runs))
    cols[4].metric("Concepts tried", sum(len(r.history.unique_records()) for r in runs))


def links(key: UnitKey) -> None:
    """Where to go from here: explain it (again), its layer, search."""
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        page_link("explore", "Explain this unit", ":material/play_circle:",
                  model=key.model, layer=key.layer, unit=key.unit)
        page_link("layers", "Layer", ":material/table_rows:", model=key.model, layer=key.layer)
        page_link("search", "Search", ":material/search:")


def runs_table(runs: list[UnitRun]) -> None:
    """Every run of the unit, latest first, with its date, settings and a link."""
    rows = []
    for run in runs:
        info, best = run.manifest, run.best
        config = info.config
        rows.append({
            "date": run_date(run.created),
            "run": f"/{NEURON_URL}?run={run.key}",
            "status": run.status,
            "label": best.concept if best else "",
            "AUC": best.auc if best else None,
            "MAD": best.mad if best else None,
            "concepts": len(run.history.unique_records()),
            "iterations": f"{run.history.iterations_done} / {run.history.iterations_total}",
            "proposer": info.backend_name("proposer"),
            "generator": info.backend_name("generator"),
            "control": str(config.control),
            "images/concept": config.images_per_concept,
            "seed": config.seed,
        })
    st.dataframe(
        pd.DataFrame(rows), hide_index=True, width="stretch", key="un_runs",
        column_config={
            "AUC": st.column_config.ProgressColumn("AUC", min_value=0.0, max_value=1.0,
                                                   format="%.3f"),
            "MAD": st.column_config.NumberColumn("MAD", format="%.2f"),
            "run": st.column_config.LinkColumn("run", display_text="open run"),
        },
    )


def evidence(runs: list[UnitRun]) -> None:
    """The best label's record: its score, reasoning and images, and the run it comes from."""
    best = best_label(runs)
    if best is None:
        st.caption("Nothing scored yet.")
        return
    run = best.run
    st.caption(f"From the run of {run_date(run.created)} ({run.status}, proposer "
               f"{run.manifest.backend_name('proposer')}).")
    with st.container(border=True):
        record_card(run.run_dir, best.record, run.history.baseline(), "Best label",
                    hist=run.history)
    page_link("neuron", "Open that run", ":material/open_in_new:", run=run.key)


def run_images(runs: list[UnitRun]) -> None:
    """The images that drive the unit most across its runs."""
    images = top_run_images(runs, limit=12)
    paths, captions = [], []
    for found in images:
        path = found.run.run_dir / found.image
        if path.is_file():
            paths.append(str(path))
            captions.append(f"{found.concept} · act {found.activation:.2f}")
    if not paths:
        st.caption("No stored images yet.")
        return
    st.image(paths, caption=captions, width=112)


def atlas_section(key: UnitKey, runs: list[UnitRun]) -> None:
    """The unit's best concepts in the layer's concept atlas, with their best images."""
    found = unit_data.atlas_for(key.model, key.layer, runs)
    if found is None:
        st.caption("No concept atlas of this layer yet: build one from the **Explore** page's "
                   "setup to see every concept it holds ranked for this unit.")
        return
    atlas, control = found
    if not 0 <= key.unit < control.shape[1]:
        st.error(f"Unit {key.unit} is out of range for layer `{key.layer}`: choose "
                 f"0..{control.shape[1] - 1}.", icon=":material/error:")
        return
    top = unit_data.atlas_top(atlas, control, key.unit, top=6)
    st.caption(f"AUC of each atlas concept's stored images against the layer's control set "
               f"({control.shape[0]} images); no rendering.")
    grid = st.columns(3)
    for rank, item in enumerate(top):
        with grid[rank % 3], st.container(border=True):
            st.markdown(f"**#{rank + 1}** `{item.concept}`")
            st.caption(f"AUC {item.auc:.3f} · mean act {item.mean_activation:.2f} · "
                       f"{item.images} images")
            pictures = atlas_images(atlas, item.concept, key.unit, limit=3)
            if pictures:
                st.image([str(p) for p, _ in pictures],
                         caption=[f"act {a:.2f}" for _, a in pictures], width=84)


def exemplars(runs: list[UnitRun]) -> None:
    """Real control images that drive the unit most, from its newest run with a folder control."""
    for run in runs:
        found, reason = top_exemplars(run.manifest)
        if not reason:
            st.caption(f"The control images this unit responds to most (real photos from "
                       f"`{run.manifest.config.control}`).")
            st.image([p for p, _, _ in found],
                     caption=[f"{c + ' · ' if c else ''}act {a:.2f}" for _, a, c in found],
                     width=112)
            return
    st.caption("No real exemplars: no run of this unit used a folder of real images as its "
               "control set.")


def render() -> None:
    """The unit page."""
    st.title("Unit", anchor=False)
    groups = unit_data.runs_by_unit()
    key = chosen_unit(groups)
    if key is None:
        return
    runs = groups.get(key, [])
    if not runs:
        st.info(f"No run of {key.title} yet.", icon=":material/info:")
        links(key)
        st.markdown("#### Top concepts in the layer's concept atlas")
        atlas_section(key, runs)
        return
    unit_data.watch([r.run_dir for r in runs], key="un_watch")
    header(key, runs)
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        status_badge(runs[0].status)
        st.caption(f"latest run {run_date(runs[0].created)}")
    links(key)
    st.markdown(f"#### Runs ({len(runs)}, latest first)")
    runs_table(runs)
    st.markdown("#### Best label and its evidence")
    evidence(runs)
    st.markdown("#### Images that drive it most (from its runs)")
    run_images(runs)
    st.markdown("#### Top concepts in the layer's concept atlas")
    atlas_section(key, runs)
    st.markdown("#### Real exemplars")
    exemplars(runs)


with guard("show the unit page"):
    render()
