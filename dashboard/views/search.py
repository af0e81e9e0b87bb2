"""Search: which units respond to a concept, over every concept every run tried.

URL: ``/search?q=stripes&model=M&layer=L&status=finished&since=YYYY-MM-DD&until=YYYY-MM-DD``
(every parameter optional). Words match inside concept texts (plurals folded); near-synonyms
match through the sentence embedder. Units are ranked by their best score on a matching concept.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from dashboard import units as unit_data
from dashboard.errors import guard
from line_core.analysis.search import (
    Filters,
    SearchIndex,
    concept_hits,
    query_text,
    search_units,
)
from line_core.analysis.units import run_date

UNIT_URL = "unit"  # the url_path app.py gives the unit page
NEURON_URL = "neuron"


def _url_list(name: str) -> list[str]:
    return [v for v in st.query_params.get_all(name) if v]


def _url_date(name: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(st.query_params.get(name) or "")
    except ValueError:
        return None


def _seed_from_url() -> None:
    """Take the URL's query and filters into the widgets once per URL."""
    marker = tuple(sorted((k, tuple(st.query_params.get_all(k))) for k in st.query_params))
    if st.session_state.get("_se_url") == marker:
        return
    st.session_state["_se_url"] = marker
    st.session_state["se_q"] = st.query_params.get("q", "")
    for name in ("model", "layer", "status"):
        st.session_state[f"se_{name}"] = _url_list(name)
    st.session_state["se_since"] = _url_date("since")
    st.session_state["se_until"] = _url_date("until")


def _sync_url(query: str, filters: Filters) -> None:
    params: dict[str, object] = {"q": query} if query else {}
    for name, values in (("model", filters.models), ("layer", filters.layers),
                         ("status", filters.statuses)):
        if values:
            params[name] = sorted(values)
    if filters.since:
        params["since"] = filters.since
    if filters.until:
        params["until"] = filters.until
    st.query_params.from_dict(params)
    st.session_state["_se_url"] = tuple(
        sorted((k, tuple(st.query_params.get_all(k))) for k in st.query_params))


def filter_widgets(index: SearchIndex) -> Filters:
    """Model, layer, status and date filters; their choices come from the index."""
    entries = index.entries
    cols = st.columns([2, 2, 2, 1.3, 1.3])
    known = {
        "model": {e.unit.model for e in entries},
        "layer": {e.unit.layer for e in entries},
        "status": {e.status for e in entries},
    }
    chosen = {}
    for column, (name, values) in zip(cols, known.items(), strict=False):
        # a value from the URL that no run has stays chosen (and honestly matches nothing)
        options = sorted(values | set(st.session_state.get(f"se_{name}", [])))
        chosen[name] = column.multiselect(name.title(), options, key=f"se_{name}",
                                          placeholder="any")
    since = cols[3].date_input("Runs from", value=None, key="se_since", format="YYYY-MM-DD")
    until = cols[4].date_input("Runs until", value=None, key="se_until", format="YYYY-MM-DD")
    since = since.isoformat() if isinstance(since, dt.date) else None
    until = until.isoformat() if isinstance(until, dt.date) else None
    return Filters(frozenset(chosen["model"]), frozenset(chosen["layer"]),
                   frozenset(chosen["status"]), since, until)


def render() -> None:
    """The search page."""
    st.title("Search", anchor=False)
    index = unit_data.search_index()
    if not index.entries:
        st.info("No runs yet: start one on the **Explore** page.", icon=":material/info:")
        return
    _seed_from_url()
    top = st.columns([5, 2], vertical_alignment="bottom")
    question = top[0].text_input(
        "Concept or question", key="se_q", icon=":material/search:",
        placeholder="e.g. which units respond to stripes?",
    )
    synonyms = top[1].toggle("Near-synonyms", value=True, key="se_synonyms",
                             help="also match concepts close in meaning (MiniLM sentence "
                             "embeddings), e.g. 'stripes' finds 'bands'")
    filters = filter_widgets(index)
    query = question.strip()
    _sync_url(query, filters)
    units = len({e.unit for e in index.entries})
    st.caption(f"{len(index.entries):,} concepts tried by {units} unit(s) in "
               f"{len({e.run_key for e in index.entries})} run(s).")
    if not query:
        st.caption("Type a concept (or ask: “which units respond to stripes?”).")
        return
    with st.spinner("Matching concepts…"):
        hits = search_units(index, query, filters, synonyms=synonyms)
    concept = query_text(query)
    if not hits:
        st.info(f"No unit was tried on a concept matching '{concept}'.",
                icon=":material/search_off:")
        return
    st.markdown(f"#### {len(hits)} unit(s) respond to '{concept}', best score first")
    rows = [{
        "unit": hit.unit.title,
        "page": f"/{UNIT_URL}?" + urlencode({"model": hit.unit.model, "layer": hit.unit.layer,
                                             "unit": hit.unit.unit}),
        "best matching concept": hit.concept,
        "AUC": hit.score.auc,
        "MAD": hit.score.mad,
        "match": "words" if hit.similarity >= 1.0 else f"similar ({hit.similarity:.2f})",
        "runs": hit.runs,
        "matching concepts": ", ".join(hit.matches),
    } for hit in hits]
    st.dataframe(
        pd.DataFrame(rows), hide_index=True, width="stretch", key="se_units",
        column_config={
            "AUC": st.column_config.ProgressColumn("AUC", min_value=0.0, max_value=1.0,
                                                   format="%.3f"),
            "MAD": st.column_config.NumberColumn("MAD", format="%.2f"),
            "page": st.column_config.LinkColumn("page", display_text="unit page"),
        },
    )
    with st.expander("Every matching concept (each run)", icon=":material/list:"):
        found = concept_hits(index, query, filters, synonyms=synonyms)
        st.dataframe(pd.DataFrame([{
            "concept": entry.concept + (" (banned)" if entry.banned else ""),
            "unit": entry.unit.title,
            "AUC": entry.score.auc,
            "source": entry.source,
            "status": entry.status,
            "run date": run_date(entry.created),
            "run": f"/{NEURON_URL}?run={entry.run_key}",
        } for entry, _ in found]), hide_index=True, width="stretch", key="se_concepts",
            column_config={"run": st.column_config.LinkColumn("run", display_text="open run"),
                           "AUC": st.column_config.NumberColumn("AUC", format="%.3f")})


with guard("search the runs"):
    render()
