"""LINE dashboard: the router. Run with ``make demo`` (127.0.0.1:8501, headless).

Each view is one file in ``dashboard/views``; this script sets the page up and hands over to
``st.navigation``. Views read the run store and call ``line_core``; runs execute in worker
processes, so no click on any page can interrupt one.
"""

from __future__ import annotations

import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
if str(_ROOT) not in sys.path:  # `streamlit run dashboard/app.py` puts only dashboard/ on the path
    sys.path.insert(0, str(_ROOT))

import streamlit as st  # noqa: E402

from dashboard import state  # noqa: E402

#: A few layout touches: less empty space above the title, quieter headings, tighter captions.
STYLE = """
<style>
[data-testid="stMainBlockContainer"] { padding-top: 2.5rem; padding-bottom: 3rem; }
h1 { font-size: 1.9rem !important; padding-bottom: 0.2rem !important; }
h3 { font-size: 1.35rem !important; }
[data-testid="stMetricValue"] { font-size: 1.7rem; }
[data-testid="stImageCaption"] { font-size: 0.75rem; }
</style>
"""


def main() -> None:
    """Configure the page, draw the sidebar and run the selected view."""
    st.set_page_config(
        page_title="LINE · neuron explanations",
        page_icon=":material/neurology:",
        layout="wide",
        initial_sidebar_state="expanded",
    )
    # Each page's URL is its file name (explore is the root): /runs, /neuron, /compare, ...
    pages = {
        "Explain": [
            st.Page(
                "views/explore.py", title="Explore", icon=":material/play_circle:", default=True
            ),
        ],
        "Browse": [
            st.Page("views/runs.py", title="Runs", icon=":material/grid_view:"),
            st.Page("views/unit.py", title="Unit", icon=":material/psychology:"),
            st.Page("views/neuron.py", title="Neuron", icon=":material/neurology:"),
            st.Page("views/compare.py", title="Compare", icon=":material/compare_arrows:"),
            st.Page("views/layers.py", title="Layer overview", icon=":material/table_rows:"),
            st.Page("views/search.py", title="Search", icon=":material/search:"),
        ],
        "Analyse": [
            st.Page("views/polysemanticity.py", title="Polysemanticity", icon=":material/hub:"),
            st.Page("views/evaluate.py", title="Evaluate", icon=":material/science:"),
            st.Page("views/export.py", title="Export", icon=":material/download:"),
        ],
    }
    page = st.navigation(pages)
    st.html(STYLE)
    page.run()
    with st.sidebar:
        st.caption(
            f"Runs folder: `{state.runs_dir()}` · LINE: a language model proposes a concept, a "
            "generator renders it, the unit's activations are scored against a control set, "
            "and the loop repeats."
        )


main()
