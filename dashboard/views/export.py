"""Export: paper figures and a bundle of one run, ready to download."""

from __future__ import annotations

import streamlit as st

from dashboard import state
from dashboard.errors import guard
from dashboard.export_panel import export_buttons
from dashboard.widgets import run_picker


def render() -> None:
    """The export page."""
    notices = st.container()
    top = st.columns([3, 2], vertical_alignment="bottom")
    with top[1]:
        summary = run_picker(state.summaries(), key="xp_run", errors=notices)
    with top[0]:
        st.title("Export for papers", anchor=False)
    st.caption(
        "Four figures per run (score curve, activation bars, image grid, polysemanticity map) "
        "at paper column widths, plus CSV/LaTeX tables; the bundle adds the manifest, events, "
        "history, analysis and the top concepts' images in one zip."
    )
    if summary is None:
        return
    with st.container(border=True):
        export_buttons(summary.run_dir, key="xp", show_preview=True)


with guard("show the export page"):
    render()
