"""The live view of one run: status line, scores, charts, pool and the iteration feed.

While the run's worker is alive the body is a fragment that polls the store every
``POLL_SECONDS`` (only the body reruns, so widgets elsewhere keep their state and nothing
flickers). When the run's coarse state changes (it finishes, stops, or waits for a review) the
fragment asks for one full rerun so the buttons around it match.
"""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st

from dashboard import charts, state
from dashboard.scores import Baseline, random_baseline, score_line
from dashboard.theme import PLOTLY_CONFIG
from dashboard.widgets import record_card, record_images, records_table
from line_core.history import RunHistory

POLL_SECONDS = 1.5
FEED_IMAGES_ITERATIONS = 12
CARD_IMAGE_WIDTH = 72
POOL_COLUMNS = ("concept", "source", "AUC", "90% CI", "MAD", "iteration")
STAGE_TEXT = {
    "propose": "proposing the next concept",
    "generate": "rendering images",
    "forward": "running the model on the images",
    "score": "scoring against the control set",
    "review": "waiting for your review",
}


def signature(run_state: state.RunState) -> tuple[object, ...]:
    """The part of a run's state that changes the page around the live body."""
    return (run_state.status, run_state.review_concept)


def _seconds(value: float) -> str:
    return f"{value:.1f} s" if value < 90 else f"{value / 60:.1f} min"


def status_text(hist: RunHistory, run_state: state.RunState, total: int) -> str:
    """One line: what runs now, how far it is, how long the last iteration took."""
    done = hist.last_completed_iteration + 1
    parts: list[str] = []
    if run_state.status == "review":
        parts.append(
            f"**iteration {run_state.review_iteration}** of {total - 1}: waiting for your "
            f"review of '{run_state.review_concept}'"
        )
    elif run_state.status == "running" and hist.stage is not None:
        stage = hist.stage
        what = STAGE_TEXT.get(stage.stage, stage.stage)
        if stage.stage == "generate" and stage.detail:
            what += f" for '{stage.detail[:60]}'"
        if stage.stage == "review" and stage.detail:
            what += f" of '{stage.detail}'"
        name = "initial pool" if stage.iteration == 0 else f"iteration {stage.iteration}"
        parts.append(f"**{name}** of {total - 1}: {what}")
    elif run_state.status == "starting":
        parts.append("**starting**: loading models and the control set")
    elif run_state.status == "finished" and hist.finished is not None:
        parts.append(
            f"**finished** in {_seconds(hist.finished.seconds)}: label "
            f"**{hist.finished.label}** (AUC {hist.finished.auc:.3f})"
        )
    else:
        parts.append(f"**{run_state.status}** after {done} of {total} iterations")
        if run_state.message:
            parts.append(run_state.message)
    if hist.completed:
        last = max(hist.completed, key=lambda d: d.iteration)
        stages = ", ".join(
            f"{k} {v:.1f}" for k, v in sorted(last.stage_seconds.items(), key=lambda kv: -kv[1])
            if v >= 0.05
        )
        parts.append(
            f"last iteration {_seconds(last.seconds)}" + (f" ({stages} s)" if stages else "")
        )
    return " · ".join(parts)


def metrics_row(hist: RunHistory, baseline: Baseline | None, total: int) -> None:
    """Label, score with interval, baseline, progress, elapsed time."""
    best = state.best_record(hist)
    cols = st.columns([3, 2, 2, 1.4, 1.4])
    label = "Label" if hist.finished is not None else "Best label so far"
    cols[0].metric(label, best.concept if best else "—")
    cols[1].metric(
        "AUC [90% CI]", f"{best.auc:.3f}" if best else "—",
        delta=f"[{best.auc_low:.2f}, {best.auc_high:.2f}]" if best else None, delta_color="off",
        delta_arrow="off",
        help="AUC of the best concept; bracket: bootstrap interval over its images",
    )
    cols[2].metric(
        "Random-concept baseline", f"{baseline.mean:.3f}" if baseline else "—",
        delta=f"[{baseline.low:.2f}, {baseline.high:.2f}] · {baseline.n} concepts"
        if baseline else None, delta_color="off", delta_arrow="off",
        help="AUCs of the seed vocabulary (concepts not chosen for this unit): mean and 5–95%",
    )
    cols[3].metric("Iterations", f"{hist.last_completed_iteration + 1} / {total}")
    elapsed = 0.0
    if hist.started is not None:
        end = hist.finished.t if hist.finished is not None else time.time()
        elapsed = max(0.0, end - hist.started.t)
    cols[4].metric("Elapsed", _seconds(elapsed) if hist.started else "—")


def latest_iteration(run_dir: Path, hist: RunHistory, baseline: Baseline | None) -> None:
    """The most recent proposal with its reasoning, images and scores."""
    proposed = [r for r in hist.records if r.iteration > 0]
    if not proposed:
        pool = hist.current_pool()
        if pool:
            st.markdown(f"**Initial pool** · {len(pool)} concepts kept of "
                        f"{sum(1 for r in hist.records if r.iteration == 0)} scored")
            st.caption(score_line(pool[0], baseline) + f" · best: `{pool[0].concept}`")
            record_images(run_dir, pool[0], width=CARD_IMAGE_WIDTH)
        else:
            st.caption("Scoring the initial pool…")
        return
    record = proposed[-1]
    kind = " (summary)" if record.source.startswith("summary") else ""
    record_card(run_dir, record, baseline, f"Iteration {record.iteration}{kind}",
                width=CARD_IMAGE_WIDTH)


def user_concepts(hist: RunHistory, baseline: Baseline | None) -> None:
    """The researcher's own concepts (injected or edited) with their scores and pool status."""
    mine = [r for r in hist.records if r.source == "user"]
    if not mine:
        return
    pool = {r.concept for r in hist.current_pool()}
    st.markdown("**Your concepts**")
    for record in mine:
        where = "in the pool" if record.concept in pool else "not in the pool"
        st.caption(
            f"`{record.concept}` · iteration {record.iteration} · {where} · "
            f"{score_line(record, baseline)}"
        )


def feed(run_dir: Path, hist: RunHistory, baseline: Baseline | None, key: str) -> None:
    """Every iteration, newest first (images for the most recent ones)."""
    iterations = sorted({r.iteration for r in hist.records if r.iteration > 0}, reverse=True)
    for position, iteration in enumerate(iterations):
        records = [r for r in hist.records if r.iteration == iteration]
        title = f"Iteration {iteration}: " + " · ".join(
            f"{r.concept} {r.auc:.3f}" + (" (you)" if r.source == "user" else "")
            for r in records[:4]
        ) + (f" · +{len(records) - 4} more" if len(records) > 4 else "")
        with st.expander(title, key=f"{key}_it{iteration}"):
            for record in records:
                if position < FEED_IMAGES_ITERATIONS:
                    record_card(run_dir, record, baseline, record.concept)
                else:
                    st.caption(f"`{record.concept}` · {score_line(record, baseline)}")
    initial = [r for r in hist.records if r.iteration == 0]
    if initial:
        with st.expander(f"Initial pool: {len(initial)} concepts scored", key=f"{key}_it0"):
            records_table(initial, key=f"{key}_initial", pool=hist.pools.get(0, []))


@st.cache_resource(max_entries=64, show_spinner=False)
def _figures(run_dir: str, stamp: tuple[int, int]) -> tuple[object, object]:
    """The score curve and the activation chart of a run, rebuilt only when it changed."""
    hist = state.history(run_dir)
    baseline = random_baseline(hist)
    control = state.manifest(run_dir).get("control", {}).get("activations", [])
    return (
        charts.score_curve(hist.records, hist.best_so_far(), baseline),
        charts.activation_chart(hist.current_pool(), control),
    )


def body(run_dir: Path, key: str) -> None:
    """The live body: status, metrics, charts, pool, latest iteration and feed."""
    hist = state.history(run_dir)
    run_state = state.run_state(run_dir, hist)
    sig_key = f"_live_sig_{key}"
    if st.session_state.get(sig_key) not in (None, signature(run_state)):
        st.session_state[sig_key] = signature(run_state)
        st.rerun()
    st.session_state[sig_key] = signature(run_state)
    config = state.manifest(run_dir).get("config", {})
    total = int(config.get("iterations", 0)) + (1 if config.get("summary", True) else 0) + 1
    baseline = random_baseline(hist)
    st.markdown(status_text(hist, run_state, total))
    st.progress(min(1.0, (hist.last_completed_iteration + 1) / max(total, 1)))
    if run_state.pending:
        queued = ", ".join(
            f"{c.get('action')} {c.get('concept') or '; '.join(c.get('concepts', []))}".strip()
            for c in run_state.pending
        )
        st.caption(f"Queued for the loop (applied between stages): {queued}")
    metrics_row(hist, baseline, total)
    if not hist.records:
        return
    curve, acts = _figures(str(run_dir), state.events_stamp(run_dir))
    n_control = len(state.manifest(run_dir).get("control", {}).get("activations", []))
    left, right = st.columns([1, 1], gap="medium")
    with left:
        st.markdown("**Score per iteration** · AUC with 90% bootstrap interval; dashed: "
                    "random-concept baseline")
        st.plotly_chart(curve, key=f"{key}_curve", config=PLOTLY_CONFIG)
    with right:
        st.markdown("**Activation** · pool concepts (mean ± SD, dots: images) vs "
                    f"{n_control} control images (grey)")
        st.plotly_chart(acts, key=f"{key}_acts", config=PLOTLY_CONFIG)
    left, right = st.columns([5, 7], gap="medium")
    with left, st.container(border=True):
        latest_iteration(run_dir, hist, baseline)
    with right:
        st.markdown("**Pool** (best first)")
        records_table(hist.current_pool(), key=f"{key}_pool", columns=POOL_COLUMNS)
        user_concepts(hist, baseline)
    st.markdown("#### Iterations")
    feed(run_dir, hist, baseline, key)


_polling_body = st.fragment(run_every=POLL_SECONDS)(body)


def live_body(run_dir: Path, live: bool, key: str = "live") -> None:
    """Draw the body once, polling the store while the run's worker is alive."""
    if live:
        _polling_body(run_dir, key)
    else:
        body(run_dir, key)
