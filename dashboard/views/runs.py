"""Runs: every run as a neuron card, grouped by model and layer, searchable and sortable."""

from __future__ import annotations

from itertools import groupby

import streamlit as st

from dashboard import state
from dashboard.errors import guard
from dashboard.widgets import image_strip, page_link, status_badge
from line_core.analysis.units import run_date

COLUMNS = 4
SORTS = {
    "Score (best first)": lambda s: (-(s.auc if s.auc is not None else -1.0), s.neuron),
    "Newest first": None,
    "Unit": lambda s: (s.neuron, s.created),
    "Label (A–Z)": lambda s: ((s.label or "~").lower(), s.neuron),
}


def card(summary: state.RunSummary) -> None:
    """One neuron card: label, score, status, a strip of its best images, links."""
    with st.container(border=True):
        st.markdown(f"**{summary.label or '(no label yet)'}**")
        score = (
            f"AUC {summary.auc:.3f} [{summary.auc_low:.2f}, {summary.auc_high:.2f}]"
            if summary.auc is not None else "not scored yet"
        )
        base = f" · baseline {summary.baseline:.2f}" if summary.baseline is not None else ""
        st.caption(f"unit {summary.neuron} · {score}{base} · {summary.proposer}")
        with st.container(horizontal=True, vertical_alignment="center", gap="small"):
            status_badge(summary.status)
            st.caption(f":material/calendar_today: {run_date(summary.created)}")
        image_strip(summary.run_dir, summary.images, width=58, limit=3)
        with st.container(horizontal=True, vertical_alignment="center", gap="small"):
            page_link(
                "neuron", "Open", ":material/open_in_new:",
                run=summary.key, layer=summary.layer, unit=summary.neuron,
            )
            page_link("unit", "Unit page", ":material/psychology:", model=summary.model,
                      layer=summary.layer, unit=summary.neuron)


def render() -> None:
    """The gallery page."""
    st.title("Runs", anchor=False)
    runs = state.summaries()
    broken = [s for s in runs if s.error]
    runs = [s for s in runs if not s.error]
    if broken:
        title = f"{len(broken)} unreadable run folder(s) skipped"
        with st.expander(title, icon=":material/error:"):
            for summary in broken:
                st.caption(f"`{summary.key}`: {summary.error}")
    if not runs:
        st.info("No runs yet: start one on the **Explore** page.", icon=":material/info:")
        return
    cols = st.columns([3, 2, 2])
    query = cols[0].text_input(
        "Search labels", key="runs_search", placeholder="e.g. stripes", icon=":material/search:"
    )
    with cols[0]:
        page_link("search", "Search every concept tried (not only labels)", ":material/search:",
                  q=query.strip() or None)
    order = cols[1].selectbox("Sort", list(SORTS), key="runs_sort")
    statuses = sorted({s.status for s in runs})
    shown = cols[2].multiselect("Status", statuses, default=statuses, key="runs_status")
    needle = query.strip().lower()
    chosen = [
        s for s in runs
        if s.status in shown and (not needle or needle in (s.label or "").lower())
    ]
    st.caption(f"{len(chosen)} of {len(runs)} runs · runs folder `{state.runs_dir()}`")
    if not chosen:
        st.info("No run matches the search.", icon=":material/search_off:")
        return
    chosen.sort(key=lambda s: (s.model, s.layer))
    for (model, layer), members in groupby(chosen, key=lambda s: (s.model, s.layer)):
        members = list(members)
        sort_key = SORTS[order]
        if sort_key is not None:
            members.sort(key=sort_key)
        head = st.columns([6, 2], vertical_alignment="bottom")
        head[0].subheader(f"{model} · {layer}", anchor=False)
        with head[1]:
            page_link("layers", "Layer overview", ":material/table_rows:", model=model, layer=layer)
        for start in range(0, len(members), COLUMNS):
            row = st.columns(COLUMNS)
            for column, summary in zip(row, members[start : start + COLUMNS], strict=False):
                with column:
                    card(summary)


with guard("show the runs"):
    render()
