"""Steering by hand: inject, edit, ban, re-score, review, stop, resume.

Every action is a command posted to the run store; the run's loop applies it between stages
and records a ``UserAction`` event, so the history shows who proposed what. A command posted to
a run whose worker is not running starts a worker, which applies it and re-finishes the run.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import streamlit as st

from dashboard import state
from dashboard.errors import guard
from line_core.history import RunHistory
from line_core.worker import launch_worker, worker_alive


def split_concepts(text: str) -> list[str]:
    """Concepts typed one per line or comma separated, cleaned and de-duplicated."""
    parts = [p.strip() for p in re.split(r"[\n,;]+", text)]
    return list(dict.fromkeys(p for p in parts if p))


def post(run_dir: Path, action: str, **payload: Any) -> None:
    """Queue a command and make sure a worker will apply it."""
    state.store(run_dir).post_command(action, **payload)
    if action != "stop" and not worker_alive(run_dir):
        launch_worker(run_dir)


def _concepts(hist: RunHistory) -> list[str]:
    pool = [r.concept for r in hist.current_pool()]
    others = sorted({r.concept for r in hist.records} - set(pool), key=str.lower)
    return pool + others


def review_box(run_dir: Path, concept: str, iteration: int) -> None:
    """Accept (or edit) the concept the proposer suggested, before it is scored."""
    with st.container(border=True):
        st.markdown(
            f":orange[**Review**] · iteration {iteration}: the proposer suggests "
            f"**{concept}**. Accept it, or edit it first; it is scored once you accept."
        )
        with st.form(f"review_form_{iteration}", border=False):
            cols = st.columns([4, 1], vertical_alignment="bottom")
            text = cols[0].text_input("Concept to score", value=concept, key=f"review_{iteration}")
            accepted = cols[1].form_submit_button("Accept", type="primary", icon=":material/check:")
        if accepted:
            with guard("send the review"):
                post(run_dir, "accept", concept=text.strip() or concept)
                st.toast(f"Accepted '{text.strip() or concept}'")
                st.rerun()


def steer_panel(run_dir: Path, hist: RunHistory, images_per_concept: int, key: str) -> None:
    """Forms for inject / edit / ban / re-score; each posts one command to the run."""
    concepts = _concepts(hist)
    st.markdown("**Steer this run**")
    tabs = st.tabs(["Inject", "Edit", "Ban", "Re-score"])
    with tabs[0], st.form(f"{key}_inject", border=False, clear_on_submit=True):
        text = st.text_area(
            "Concepts to try", key=f"{key}_inject_text", height=80,
            placeholder="one per line or comma separated, e.g. yellow tiles, gold stripes",
        )
        if st.form_submit_button("Inject", type="primary", icon=":material/add:"):
            chosen = split_concepts(text)
            if not chosen:
                st.warning("Type at least one concept.")
            else:
                with guard("inject the concepts"):
                    post(run_dir, "inject", concepts=chosen)
                    st.toast(f"Queued {len(chosen)} concept(s); they are scored next")
                    st.rerun()
    if not concepts:
        for tab in tabs[1:]:
            tab.caption("Available once concepts are scored.")
        return
    with tabs[1], st.form(f"{key}_edit", border=False, clear_on_submit=True):
        old = st.selectbox("Concept", concepts, key=f"{key}_edit_old")
        new = st.text_input("New text", key=f"{key}_edit_new", placeholder="edited concept")
        if st.form_submit_button("Re-score edited", icon=":material/edit:"):
            if not new.strip():
                st.warning("Type the edited concept.")
            else:
                with guard("queue the edit"):
                    post(run_dir, "edit", concept=old, new=new.strip())
                    st.toast(f"Queued edit '{old}' → '{new.strip()}'")
                    st.rerun()
    with tabs[2], st.form(f"{key}_ban", border=False):
        banned = st.selectbox("Concept", concepts, key=f"{key}_ban_concept")
        st.caption("A banned concept leaves the pool and joins the forbidden set.")
        if st.form_submit_button("Ban", icon=":material/block:"):
            with guard("queue the ban"):
                post(run_dir, "ban", concept=banned)
                st.toast(f"Queued ban of '{banned}'")
                st.rerun()
    with tabs[3], st.form(f"{key}_rescore", border=False):
        cols = st.columns([3, 1], vertical_alignment="bottom")
        target = cols[0].selectbox("Concept", concepts, key=f"{key}_rescore_concept")
        n_images = cols[1].number_input(
            "Images", min_value=2, max_value=64, value=max(2, 2 * images_per_concept),
            key=f"{key}_rescore_n",
        )
        if st.form_submit_button("Re-score", icon=":material/refresh:"):
            with guard("queue the re-score"):
                post(run_dir, "rescore", concept=target, n_images=int(n_images))
                st.toast(f"Queued re-score of '{target}' with {int(n_images)} images")
                st.rerun()


def run_controls(run_dir: Path, run_state: state.RunState, key: str) -> None:
    """Stop (live runs) or resume (stopped, interrupted or failed runs)."""
    if run_state.live:
        stopping = any(c.get("action") == "stop" for c in run_state.pending)
        if st.button(
            "Stopping…" if stopping else "Stop", key=f"{key}_stop", icon=":material/stop:",
            disabled=stopping, help="stop after the current stage; completed work is kept",
        ):
            with guard("stop the run"):
                state.store(run_dir).post_command("stop")
                st.rerun()
    elif run_state.status in ("stopped", "interrupted", "failed", "empty"):
        if st.button("Resume", key=f"{key}_resume", icon=":material/play_arrow:", type="primary"):
            with guard("resume the run"):
                launch_worker(run_dir)
                st.rerun()
