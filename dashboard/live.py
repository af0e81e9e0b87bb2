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
from dashboard.provenance import ban_note
from dashboard.scores import score_line
from dashboard.theme import PLOTLY_CONFIG
from dashboard.widgets import record_card, record_images, records_table
from line_core.concepts import Source, normalise, source_kind
from line_core.record import (
    Accept,
    Ban,
    Baseline,
    Command,
    Edit,
    Inject,
    Rescore,
    RunHistory,
    RunStatus,
    ScoredRecord,
    Stop,
)

POLL_SECONDS = 1.5
#: Seconds between two attempts to resume a finished run for commands that wait for it.
LATE_RETRY_S = 5.0
FEED_IMAGES_ITERATIONS = 12
CARD_IMAGE_WIDTH = 72
POOL_COLUMNS = ("concept", "status", "source", "AUC", "90% CI", "MAD", "iteration")
STAGE_TEXT = {
    "propose": "proposing the next concept",
    "generate": "rendering images",
    "forward": "running the model on the images",
    "score": "scoring against the control set",
    "review": "waiting for your review",
}


def signature(hist: RunHistory, run_status: RunStatus) -> tuple[object, ...]:
    """The part of a run's state that changes the page around the live body.

    While commands wait on a run that nobody writes, it also ticks every ``LATE_RETRY_S``, so
    the page around (which resumes such a run) gets another chance.
    """
    waiting = not run_status.live and any(not isinstance(c, Stop) for c in hist.pending_commands)
    tick = int(time.time() // LATE_RETRY_S) if waiting else 0
    return (run_status.word, hist.review, tick)


def seconds_text(value: float) -> str:
    """A duration as '12.3 s' or '4.5 min'."""
    return f"{value:.1f} s" if value < 90 else f"{value / 60:.1f} min"


def describe_command(command: Command) -> str:
    """A queued command in a few words."""
    if isinstance(command, Inject):
        return "inject " + "; ".join(command.concepts)
    if isinstance(command, Edit):
        return f"edit '{command.concept}' → '{command.new}'"
    if isinstance(command, Ban):
        return f"ban '{command.concept}'"
    if isinstance(command, Rescore):
        return f"re-score '{command.concept}' ({command.n_images} images)"
    if isinstance(command, Accept):
        return f"accept '{command.concept}'" if command.concept else "accept"
    if isinstance(command, Stop):
        return "stop"
    return command.action


def status_text(hist: RunHistory, run_status: RunStatus) -> str:
    """One line: what runs now, how far it is, how long the last iteration took."""
    total = hist.iterations_total
    word = run_status.word
    parts: list[str] = []
    if word == "review" and hist.review is not None:
        concept, iteration = hist.review
        parts.append(
            f"**iteration {iteration}** of {total - 1}: waiting for your review of '{concept}'"
        )
    elif word == "running" and hist.stage is not None:
        stage = hist.stage
        what = STAGE_TEXT.get(stage.stage, stage.stage)
        if stage.stage == "generate" and stage.detail:
            what += f" for '{stage.detail[:60]}'"
        if stage.stage == "review" and stage.detail:
            what += f" of '{stage.detail}'"
        name = "initial pool" if stage.iteration == 0 else f"iteration {stage.iteration}"
        parts.append(f"**{name}** of {total - 1}: {what}")
    elif word == "starting":
        parts.append("**starting**: loading models and the control set")
    elif word == "finished":
        best = hist.best()
        label = f"label **{best.concept}** (AUC {best.auc:.3f})" if best else "no label"
        parts.append(f"**finished** in {seconds_text(hist.worked_seconds)}: {label}")
    else:
        parts.append(f"**{word}** after {hist.iterations_done} of {total} iterations")
        if word == "failed" and hist.failed is not None:
            parts.append(hist.failed.message)
        elif word == "interrupted":
            parts.append("nobody is writing the run: resume it to continue")
    if hist.completed:
        last = max(hist.completed, key=lambda d: d.iteration)
        stages = ", ".join(
            f"{k} {v:.1f}" for k, v in sorted(last.stage_seconds.items(), key=lambda kv: -kv[1])
            if v >= 0.05
        )
        parts.append(
            f"last iteration {seconds_text(last.seconds)}" + (f" ({stages} s)" if stages else "")
        )
    return " · ".join(parts)


def metrics_row(hist: RunHistory, baseline: Baseline | None) -> None:
    """Label (bans applied), score with interval, baseline, progress, time worked."""
    best = hist.best()
    cols = st.columns([3, 2, 2, 1.4, 1.4])
    label = "Label" if hist.finished is not None else "Best label so far"
    cols[0].metric(label, best.concept if best else "—",
                   help="the best-scoring concept the researcher did not ban")
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
        help="AUCs of concepts not chosen for this unit (seed vocabulary or random control "
        "classes): mean and 5–95%",
    )
    cols[3].metric("Iterations", f"{hist.iterations_done} / {hist.iterations_total}")
    cols[4].metric("Worked", seconds_text(hist.worked_seconds) if hist.completed else "—",
                   help="time worked on completed iterations, summed over every session of the "
                   "run (stop/resume); waiting for your review and later edits not counted")


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
    kind = " (summary)" if source_kind(record.source) == "summary" else ""
    record_card(run_dir, record, baseline, f"Iteration {record.iteration}{kind}",
                width=CARD_IMAGE_WIDTH, hist=hist)


def user_concepts(hist: RunHistory, baseline: Baseline | None) -> None:
    """The researcher's own concepts (injected or edited) with their scores and pool status."""
    mine = [r for r in hist.records if r.source == Source.USER]
    if not mine:
        return
    pool = {normalise(r.concept) for r in hist.current_pool()}
    st.markdown("**Your concepts**")
    for record in mine:
        where = "in the pool" if normalise(record.concept) in pool else "not in the pool"
        if hist.is_banned(record.concept):
            where = "banned"
        edited = f" · edited from `{record.original}`" if record.changed_by else ""
        st.caption(
            f"`{record.concept}` · iteration {record.iteration}{edited} · {where} · "
            f"{score_line(record, baseline)}"
        )


def pool_with_bans(hist: RunHistory) -> list[ScoredRecord]:
    """The pool, then the best record of every banned concept (the ban shows where it acts)."""
    pool = list(hist.current_pool())
    shown = {normalise(r.concept) for r in pool}
    banned = [r for r in hist.unique_records()
              if hist.is_banned(r.concept) and normalise(r.concept) not in shown]
    return pool + banned


def feed(run_dir: Path, hist: RunHistory, baseline: Baseline | None, key: str) -> None:
    """Every iteration, newest first (images for the most recent ones)."""
    iterations = sorted({r.iteration for r in hist.records if r.iteration > 0}, reverse=True)
    for position, iteration in enumerate(iterations):
        records = [r for r in hist.records if r.iteration == iteration]
        title = f"Iteration {iteration}: " + " · ".join(
            f"{r.concept} {r.auc:.3f}" + (" (you)" if r.source == Source.USER else "")
            + (" (banned)" if hist.is_banned(r.concept) else "")
            for r in records[:4]
        ) + (f" · +{len(records) - 4} more" if len(records) > 4 else "")
        with st.expander(title, key=f"{key}_it{iteration}"):
            for record in records:
                if position < FEED_IMAGES_ITERATIONS:
                    record_card(run_dir, record, baseline, record.concept, hist=hist)
                else:
                    st.caption(f"`{record.concept}` · {score_line(record, baseline)}")
    initial = [r for r in hist.records if r.iteration == 0]
    if initial:
        with st.expander(f"Initial pool: {len(initial)} concepts scored", key=f"{key}_it0"):
            records_table(initial, key=f"{key}_initial", hist=hist,
                          pool=hist.pools.get(0, []))


@st.cache_resource(max_entries=64, show_spinner=False)
def _figures(run_dir: str, stamp: tuple[tuple[int, int], ...]) -> tuple[object, object]:
    """The score curve and the activation chart of a run, rebuilt only when it changed."""
    hist = state.history(run_dir)
    control = state.manifest(run_dir).control.activations
    return (
        charts.score_curve(hist.records, hist.best_so_far(), hist.baseline()),
        charts.activation_chart(hist.current_pool(), control),
    )


def body(run_dir: Path, key: str) -> None:
    """The live body: status, metrics, charts, pool, latest iteration and feed."""
    hist = state.history(run_dir)
    run_status = state.status(run_dir, hist)
    sig_key = f"_live_sig_{key}"
    if st.session_state.get(sig_key) not in (None, signature(hist, run_status)):
        # the page around was drawn from an older state: draw it again (a page that calls
        # this must handle its forms before, or a rerun here drops what was just submitted)
        st.session_state[sig_key] = signature(hist, run_status)
        st.rerun()
    st.session_state[sig_key] = signature(hist, run_status)
    baseline = hist.baseline()
    st.markdown(status_text(hist, run_status))
    st.progress(min(1.0, hist.iterations_done / max(hist.iterations_total, 1)))
    if hist.pending_commands:
        queued = ", ".join(describe_command(c) for c in hist.pending_commands)
        st.caption(f"Queued for the loop (applied between stages): {queued}")
    metrics_row(hist, baseline)
    ban_note(hist)
    if not hist.records:
        return
    curve, acts = _figures(str(run_dir), state.stamps(run_dir))
    n_control = len(state.manifest(run_dir).control.activations)
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
        st.markdown("**Pool** (best first; banned concepts struck at the end)")
        records_table(pool_with_bans(hist), key=f"{key}_pool", hist=hist, columns=POOL_COLUMNS)
        user_concepts(hist, baseline)
    st.markdown("#### Iterations")
    feed(run_dir, hist, baseline, key)


_polling_body = st.fragment(run_every=POLL_SECONDS)(body)


def live_body(run_dir: Path, live: bool, key: str = "live") -> None:
    """Draw the body once, polling the store while the run is being written."""
    if live:
        _polling_body(run_dir, key)
    else:
        body(run_dir, key)
