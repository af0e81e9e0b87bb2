"""Steering by hand: inject, edit, ban, re-score, review, stop, resume.

Every action is a typed command handed to the engine's door (``engine.steer``): the run's
loop applies it between stages and records a ``UserAction`` event, so the history shows who
proposed what. If nobody is writing the run, the door starts a worker that applies it and
re-finishes the run; this view never starts workers itself. A bad command (an empty concept,
a pasted paragraph, too many concepts) is one ``st.error`` line.
"""

from __future__ import annotations

import re
from pathlib import Path

import streamlit as st

from dashboard.errors import guard
from line_core import engine
from line_core.concepts import normalise
from line_core.record import Accept, Ban, Command, Edit, Inject, Rescore, RunHistory, RunStatus
from line_core.record import Stop as StopCommand


def split_concepts(text: str) -> list[str]:
    """Concepts typed one per line or comma separated, cleaned, one per concept (``normalise``)."""
    parts = [" ".join(p.split()) for p in re.split(r"[\n,;]+", text)]
    kept: dict[str, str] = {}
    for part in parts:
        if part and normalise(part) not in kept:
            kept[normalise(part)] = part
    return list(kept.values())


def post(run_dir: Path, command: Command) -> str:
    """Hand a command to the engine (it starts a worker when nobody writes the run)."""
    return engine.steer(run_dir, command)


def concept_choices(hist: RunHistory) -> list[str]:
    """Pool concepts first, then every other tried concept once (same concept by normalise)."""
    chosen: dict[str, str] = {}
    for record in [*hist.current_pool(), *hist.unique_records()]:
        chosen.setdefault(normalise(record.concept), record.concept)
    pool = {normalise(r.concept) for r in hist.current_pool()}
    rest = sorted((c for k, c in chosen.items() if k not in pool), key=normalise)
    return [c for k, c in chosen.items() if k in pool] + rest


def review_box(run_dir: Path, concept: str, iteration: int) -> None:
    """Accept (or edit) the concept the proposer suggested, before it is scored."""
    with st.container(border=True):
        st.markdown(
            f":orange[**Review**] · iteration {iteration}: the proposer suggests "
            f"**{concept}**. Accept it, or edit it first (an edit is recorded as yours, "
            "with the proposal kept); it is scored once you accept."
        )
        with st.form(f"review_form_{iteration}", border=False):
            cols = st.columns([4, 1], vertical_alignment="bottom")
            text = cols[0].text_input("Concept to score", value=concept, key=f"review_{iteration}")
            accepted = cols[1].form_submit_button("Accept", type="primary", icon=":material/check:")
        if accepted:
            edited = " ".join(text.split())
            chosen = edited if edited and edited != concept else ""
            with guard("send the review"):
                post(run_dir, Accept(concept=chosen))
                st.toast(f"Accepted '{chosen or concept}'")
                st.rerun()


def steer_panel(run_dir: Path, hist: RunHistory, images_per_concept: int, key: str) -> None:
    """Forms for inject / edit / ban / re-score; each posts one command to the run."""
    concepts = concept_choices(hist)
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
                    post(run_dir, Inject(concepts=tuple(chosen)))
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
                    post(run_dir, Edit(concept=old, new=" ".join(new.split())))
                    st.toast(f"Queued edit '{old}' → '{new.strip()}'")
                    st.rerun()
    with tabs[2], st.form(f"{key}_ban", border=False):
        bannable = [c for c in concepts if not hist.is_banned(c)] or concepts
        banned = st.selectbox("Concept", bannable, key=f"{key}_ban_concept")
        st.caption("A banned concept leaves the pool, joins the forbidden set and is never "
                   "the label; tables show it struck through.")
        if st.form_submit_button("Ban", icon=":material/block:"):
            with guard("queue the ban"):
                post(run_dir, Ban(concept=banned))
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
                post(run_dir, Rescore(concept=target, n_images=int(n_images)))
                st.toast(f"Queued re-score of '{target}' with {int(n_images)} images")
                st.rerun()


def run_controls(run_dir: Path, hist: RunHistory, run_status: RunStatus, key: str) -> None:
    """Stop (live or starting runs) or resume (stopped, interrupted, failed or empty runs)."""
    if run_status.live or run_status.word == "starting":
        stopping = any(isinstance(c, StopCommand) for c in hist.pending_commands)
        if st.button(
            "Stopping…" if stopping else "Stop", key=f"{key}_stop", icon=":material/stop:",
            disabled=stopping, help="stop after the current stage; completed work is kept",
        ):
            with guard("stop the run"):
                engine.stop(run_dir)
                st.rerun()
    elif run_status.word in ("stopped", "interrupted", "failed", "empty"):
        if st.button("Resume", key=f"{key}_resume", icon=":material/play_arrow:", type="primary"):
            with guard("resume the run"):
                engine.resume_in_background(run_dir)
                st.rerun()
