"""The setup's word on the layer's concept atlas: what it holds, a button to build it."""

from __future__ import annotations

import time

import streamlit as st

from dashboard import backends
from dashboard.errors import guard
from line_core.config import ExplainConfig
from line_core.errors import LineError

BUILD_KEY = "ex_atlas_build"
STARTED_KEY = "ex_atlas_started"
#: Seconds a freshly started build may take to load its model and take the atlas's lock.
STARTING_S = 120.0


def _just_started() -> bool:
    """Whether this session started a build that has not had time to take its lock yet."""
    started = st.session_state.get(STARTED_KEY)
    return started is not None and time.time() - started < STARTING_S


def atlas_panel(config: ExplainConfig) -> None:
    """One line on the layer's atlas, and "Build concept atlas" when it has no broad look yet."""
    layer = str(config.layer)
    if not config.atlas:
        return
    try:
        summary = backends.atlas_summary(config, layer)
    except LineError:  # a backend that cannot load: Check setup / Start run say why, once
        st.caption(":material/travel_explore: The layer's concept atlas shows once the model "
                   "and generator load.")
        return
    with guard("read the layer's concept atlas"):
        if summary.building or _just_started():
            _building(config, layer)
            return
        if summary.built:
            st.caption(
                f":material/travel_explore: Concept atlas of `{layer}`: {summary.concepts:,} "
                f"concepts ({summary.vocabulary}). Runs start from this unit's top concepts in "
                "it, with no rendering."
            )
            return
        cols = st.columns([4, 1], vertical_alignment="center")
        cols[0].caption(
            f":material/travel_explore: No broad first look at `{layer}` yet "
            f"({summary.concepts:,} concepts stored by earlier runs). Building the concept "
            "atlas renders a wide vocabulary once; every unit of the layer then starts from its "
            "own top concepts, and sparse units are found at once."
        )
        if cols[1].button("Build concept atlas", key=BUILD_KEY, icon=":material/travel_explore:",
                          help="runs `line atlas build` for this layer in the background"):
            backends.build_atlas(config, layer)
            st.session_state[STARTED_KEY] = time.time()
            st.rerun()


@st.fragment(run_every=3)
def _building(config: ExplainConfig, layer: str) -> None:
    """Progress of a running atlas build, every few seconds; the page refreshes when it ends."""
    summary = backends.atlas_summary(config, layer)
    if not summary.building:
        if summary.built or not _just_started():
            st.session_state.pop(STARTED_KEY, None)
            st.rerun()
        st.info(f"Starting the concept atlas build of `{layer}` (loading the model)…",
                icon=":material/hourglass_top:")
        return
    st.info(
        f"Building the concept atlas of `{layer}`: {summary.concepts:,} concepts stored so far "
        f"({summary.building}). Runs started now use what is stored.",
        icon=":material/hourglass_top:",
    )
