"""Neuron page: one run's full history, its images, interventions and real exemplars.

The URL carries ``run``, ``layer`` and ``unit``; a link with only ``layer`` and ``unit`` (and
optionally ``model``) opens the newest run of that unit.
"""

from __future__ import annotations

import json

import streamlit as st

from dashboard import backends, state, units
from dashboard.errors import guard
from dashboard.exemplars import top_exemplars
from dashboard.export_panel import export_buttons
from dashboard.provenance import ban_note
from dashboard.scores import score_line
from dashboard.steer import steer_panel
from dashboard.widgets import (
    PAGE_FILES,
    actions_frame,
    mark,
    page_link,
    record_card,
    records_table,
    run_picker,
    status_badge,
)
from line_core.concepts import Source


def unit_default(summaries: list[state.RunSummary]) -> str | None:
    """The newest run matching ?layer=&unit=(&model=) when the URL names no run."""
    params = st.query_params
    if params.get("run") or params.get("unit") is None:
        return None
    for summary in summaries:  # newest first
        if (
            str(summary.neuron) == params.get("unit")
            and params.get("layer") in (None, summary.layer)
            and params.get("model") in (None, summary.model)
        ):
            return summary.key
    st.error(
        f"No run of unit {params.get('unit')} in layer {params.get('layer') or '(any)'}: "
        "start one on the Explore page.", icon=":material/error:",
    )
    return None


def share_url(summary: state.RunSummary) -> str:
    """The neuron page's stable link (absolute when the browser's address is known)."""
    query = f"?run={summary.key}&layer={summary.layer}&unit={summary.neuron}"
    base = (st.context.url or "").split("?")[0]
    return f"{base}{query}" if base else f"neuron{query}"


def header(summary: state.RunSummary, baseline_text: str) -> None:
    """The unit, its label and score."""
    st.markdown(f"### {summary.model} · `{summary.layer}` · unit {summary.neuron}")
    status_badge(summary.status)
    cols = st.columns([3, 2, 2, 1.2, 1.2])
    cols[0].metric("Label", summary.label or "—")
    cols[1].metric(
        "AUC [90% CI]", f"{summary.auc:.3f}" if summary.auc is not None else "—",
        delta=f"[{summary.auc_low:.2f}, {summary.auc_high:.2f}]" if summary.auc is not None
        else None, delta_color="off", delta_arrow="off",
    )
    cols[2].metric("Random-concept baseline", baseline_text)
    cols[3].metric("MAD", f"{summary.mad:.2f}" if summary.mad is not None else "—")
    cols[4].metric("Concepts tried", summary.n_concepts)


def actions_row(summary: state.RunSummary) -> None:
    """Links to the other views of this run, share, re-run and export."""
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        page_link("unit", "Unit page (every run)", ":material/psychology:",
                  model=summary.model, layer=summary.layer, unit=summary.neuron)
        page_link("explore", "Watch / steer live", ":material/play_circle:", run=summary.key)
        page_link("poly", "Polysemanticity", ":material/hub:", run=summary.key)
        page_link("compare", "Compare", ":material/compare_arrows:", a=summary.key)
        if st.button("Re-run", key="nr_rerun", icon=":material/replay:",
                     help="a fresh run from this run's manifest (same models, seeds and "
                     "prompts): a reproducibility check, compared side by side"):
            with guard("re-run from the manifest"), st.spinner("Starting the re-run…"):
                new_dir = backends.rerun_from_manifest(summary.run_dir, state.runs_dir())
                st.switch_page(
                    PAGE_FILES["compare"],
                    query_params={"a": summary.key, "b": state.run_key(new_dir)},
                )
        with st.popover("Export", icon=":material/download:"):
            export_buttons(summary.run_dir, key="nr_export")
        with st.popover("Share", icon=":material/link:"):
            st.caption("Stable link to this neuron page:")
            st.code(share_url(summary), language=None, wrap_lines=True)


def history_tab(summary: state.RunSummary) -> None:
    """Every concept (table), then every iteration with reasoning and images."""
    hist = state.history(summary.run_dir)
    baseline = hist.baseline()
    records_table(hist.records, key="nr_all", hist=hist,
                  pool=[r.concept for r in hist.current_pool()])
    # proposals, plus the researcher's own concepts (an early inject lands in iteration 0)
    shown = [r for r in hist.records if r.iteration > 0 or r.source == Source.USER]
    for record in shown:
        with st.container(border=True):
            record_card(summary.run_dir, record, baseline, f"Iteration {record.iteration}",
                        hist=hist)


def render() -> None:
    """The neuron page."""
    summaries = state.summaries()
    notices = st.container()
    with notices:
        default = unit_default(summaries)
    top = st.columns([3, 2], vertical_alignment="bottom")
    with top[1]:
        summary = run_picker(summaries, key="nr_run", errors=notices, default=default)
    with top[0]:
        st.title("Neuron", anchor=False)
    if summary is None:
        return
    st.query_params["layer"] = summary.layer
    st.query_params["unit"] = str(summary.neuron)
    units.watch([summary.run_dir], key="nr_watch")  # follow the run while it is going
    hist = state.history(summary.run_dir)
    baseline = hist.baseline()
    header(summary, f"{baseline.mean:.3f}" if baseline else "—")
    actions_row(summary)
    tabs = st.tabs(["Best concepts", "History", "Interventions", "Real exemplars", "Steer",
                    "Manifest"])
    with tabs[0]:
        best = [r for r in hist.unique_records() if not hist.is_banned(r.concept)]
        best = sorted(best, key=lambda r: r.rank_key, reverse=True)[:5]
        if not best:
            st.caption("Nothing scored yet.")
        ban_note(hist)
        grid = st.columns(2)
        for rank, record in enumerate(best, start=1):
            with grid[(rank - 1) % 2], st.container(border=True):
                record_card(summary.run_dir, record, baseline, f"#{rank}", width=84, hist=hist)
    with tabs[1]:
        history_tab(summary)
    with tabs[2]:
        frame = actions_frame(hist)
        if frame.empty:
            st.caption("No interventions: every concept came from the proposer.")
        else:
            st.dataframe(frame, hide_index=True, width="stretch")
        user = [r for r in hist.records if r.source == Source.USER]
        for record in user:
            note = mark(hist, record.concept)
            st.caption(f"you proposed `{record.concept}`" + (f" ({note})" if note else "")
                       + f" · {score_line(record, baseline)}")
    with tabs[3]:
        exemplars, reason = top_exemplars(state.manifest(summary.run_dir))
        if reason:
            st.caption(f"No real exemplars: {reason}.")
        else:
            st.caption("The control images this unit responds to most (real photos).")
            st.image(
                [p for p, _, _ in exemplars],
                caption=[f"{c + ' · ' if c else ''}act {a:.2f}" for _, a, c in exemplars],
                width=128,
            )
    with tabs[4]:
        st.caption(
            "Commands sent to a finished run start a worker that applies them and re-finishes "
            "the run; watch it on the Explore page."
        )
        steer_panel(summary.run_dir, hist,
                    state.manifest(summary.run_dir).config.images_per_concept, key="nr_steer")
    with tabs[5]:
        text = json.dumps(state.manifest(summary.run_dir).to_dict(), indent=2, default=str)
        st.code(text[:20000], language="json")


with guard("show the neuron page"):
    render()
