"""Explore (live): set a unit up, check it, start a run and watch every iteration arrive."""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st

from dashboard import backends, live, state
from dashboard.atlas_panel import atlas_panel
from dashboard.errors import guard
from dashboard.setup_form import find_neurons_panel, setup_form
from dashboard.steer import review_box, run_controls, steer_panel
from dashboard.widgets import page_link, status_badge
from line_core import engine
from line_core.config import ExplainConfig
from line_core.errors import RunStoreError
from line_core.record import Accept, RunHistory, RunStatus, Stop

#: Measured by tests/test_first_minute_browser.py on 2 CPU cores (artifacts/first_minute.json).
FIRST_ITERATION_TEXT = (
    "iteration 1 shows about 10 s later on an idle 2-core laptop (25–40 s when its cores are "
    "busy) once `make demo` "
    "(`line prepare`) has prepared the caches; without them the first run takes 1–2 minutes to "
    "get there (it renders and caches what every later run reuses)."
)
RUN_KEY = "ex_run"
CHECK_KEY = "ex_check"
RECENT = 8


def attached_run() -> Path | None:
    """The run this page follows: ?run= in the URL (survives reloads), else this session's."""
    key = st.query_params.get("run") or st.session_state.get(RUN_KEY)
    if not key:
        return None
    try:
        path = state.resolve_run(key)
    except RunStoreError as exc:
        st.error(f"{exc}", icon=":material/error:")
        st.query_params.pop("run", None)
        st.session_state.pop(RUN_KEY, None)
        return None
    st.session_state[RUN_KEY] = key
    st.query_params["run"] = key
    return path


def attach(run_dir: Path) -> None:
    """Follow a run (and put it in the URL)."""
    key = state.run_key(run_dir)
    st.session_state[RUN_KEY] = key
    st.query_params["run"] = key


def detach() -> None:
    """Stop following the run (it keeps running in its worker)."""
    st.session_state.pop(RUN_KEY, None)
    st.query_params.pop("run", None)


def show_checks(config: ExplainConfig, warnings: list[str]) -> None:
    """The pre-flight result for the current setup."""
    if warnings:
        for warning in warnings:
            st.warning(warning, icon=":material/warning:")
    else:
        st.success(
            f"Pre-flight passed: unit {config.neuron} of `{config.layer}` varies on the control "
            "set, no other layer gives identical activations, and the control set is large "
            "enough.", icon=":material/task_alt:",
        )


def _start(config: ExplainConfig) -> None:
    with st.spinner("Creating the run and starting its worker…"):
        run_dir = backends.start_run(config)
    st.session_state.pop(CHECK_KEY, None)
    attach(run_dir)
    st.rerun()


def setup_panel(expanded: bool) -> None:
    """The setup form, the pre-flight check and the start button."""
    with st.expander("New run", expanded=expanded, icon=":material/add_circle:"):
        config = setup_form()
        if config is None:
            return
        find_neurons_panel(config)
        atlas_panel(config)
        checked = st.session_state.get(CHECK_KEY)
        fresh = checked is not None and checked[0] == config.to_dict()
        cols = st.columns([1, 1, 4], vertical_alignment="center")
        check = cols[0].button("Check setup", key="ex_check_btn", icon=":material/fact_check:")
        start = cols[1].button("Start run", key="ex_start", type="primary",
                               icon=":material/play_arrow:")
        cols[2].caption(
            f"{config.iterations} iterations × {config.images_per_concept} images · "
            f"generator `{config.generator}` · proposer `{config.proposer}` · "
            f"control `{config.control}`"
        )
        if check or (start and not fresh):
            with guard("check the setup"), st.spinner("Pre-flight: control set and layer checks…"):
                st.session_state[CHECK_KEY] = (config.to_dict(), backends.preflight(config))
                fresh = True
            if not fresh:
                return
        if fresh:
            warnings = st.session_state[CHECK_KEY][1]
            show_checks(config, warnings)
            if start and not warnings:
                with guard("start the run"):
                    _start(config)
            elif warnings and st.button("Start anyway", key="ex_start_anyway",
                                        icon=":material/play_arrow:"):
                with guard("start the run"):
                    _start(config)


def run_header(run_dir: Path, hist: RunHistory, run_status: RunStatus) -> None:
    """Title, status badge, settings and the run's buttons."""
    info = state.manifest(run_dir)
    config = info.config
    layer, unit = info.layer, info.neuron
    key = state.run_key(run_dir)
    st.markdown(f"### {config.model} · `{layer}` · unit {unit}")
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        status_badge(run_status.word)
        st.caption(
            f"generator `{info.backend_name('generator')}` · proposer "
            f"`{info.backend_name('proposer')}` · control `{config.control}` "
            f"({info.control.size or config.control_size} images) · "
            f"{config.images_per_concept} images per concept · seed {config.seed}"
            + (" · review mode" if config.review else "")
        )
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        run_controls(run_dir, hist, run_status, "ex")
        if st.button("New run", key="ex_detach", icon=":material/add:",
                     help="leave this run (it keeps running in its worker) and set up another"):
            detach()
            st.rerun()
        page_link("neuron", "Neuron page", ":material/neurology:", run=key, layer=layer, unit=unit)
        page_link("poly", "Polysemanticity", ":material/hub:", run=key)
        page_link("export", "Export", ":material/download:", run=key)


def recent_runs() -> None:
    """The latest runs with a link to follow each (a live one keeps running without a page)."""
    runs = [s for s in state.summaries() if not s.error][:RECENT]
    if not runs:
        return
    st.markdown("#### Recent runs")
    for summary in runs:
        with st.container(horizontal=True, vertical_alignment="center", gap="small"):
            status_badge(summary.status)
            label = summary.label or "(no label yet)"
            score = f" · AUC {summary.auc:.3f}" if summary.auc is not None else ""
            page_link("explore", f"{label}{score} — {summary.title} · {summary.proposer}",
                      ":material/play_circle:", run=summary.key)


def apply_late_commands(run_dir: Path, hist: RunHistory, run_status: RunStatus) -> RunStatus:
    """Let the engine apply commands a finished run missed (tried every LATE_RETRY_S)."""
    if run_status.live or run_status.word != "finished" or not hist.pending_commands:
        return run_status  # the engine decides whether the waiting commands need a worker
    marker = (state.run_key(run_dir), tuple(c.id for c in hist.pending_commands))
    tried = st.session_state.get("_ex_late")
    if tried is not None and tried[0] == marker and time.time() - tried[1] < live.LATE_RETRY_S:
        return run_status
    st.session_state["_ex_late"] = (marker, time.time())
    if engine.apply_late_commands(run_dir, hist):
        return state.status(run_dir, hist)
    return run_status


def render() -> None:
    """The Explore page."""
    st.title("Explore", anchor=False)
    run_dir = attached_run()
    if run_dir is None:
        if not state.summaries():
            st.info(
                "New here? The setup below is the embedded offline default: EfficientNet-Lite0, "
                "procedural renderer, lexicon proposer, a unit known to respond to simple "
                f"patterns. Press **Start run**: {FIRST_ITERATION_TEXT}",
                icon=":material/waving_hand:",
            )
        setup_panel(expanded=True)
        recent_runs()
        return
    try:
        hist = state.history(run_dir)
    except RunStoreError as exc:
        st.error(f"{exc}", icon=":material/error:")
        detach()
        return
    run_status = apply_late_commands(run_dir, hist, state.status(run_dir, hist))
    run_header(run_dir, hist, run_status)
    answering = any(isinstance(c, Accept) for c in hist.pending_commands)
    if run_status.word == "review" and hist.review is not None and not answering:
        review_box(run_dir, *hist.review)
    with st.sidebar, st.container(border=True):  # forms first: a submitted command is posted
        steer_panel(run_dir, hist, state.manifest(run_dir).config.images_per_concept,
                    key="ex_steer")
    polling = run_status.live or run_status.word == "starting" or (
        run_status.word == "finished"
        and any(not isinstance(c, Stop) for c in hist.pending_commands)
    )
    live.live_body(run_dir, polling, key="ex_live")


with guard("show the Explore page"):
    render()
