"""Small UI pieces the views share: badges, image strips, tables, the run picker."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard import state
from dashboard.provenance import provenance_text, queued_bans, source_cell
from dashboard.scores import beats_baseline, score_line
from dashboard.theme import STATUS_BADGES
from line_core.concepts import normalise
from line_core.errors import RunStoreError
from line_core.record import Baseline, RunHistory, ScoredRecord

PAGE_FILES = {
    "explore": "views/explore.py",
    "runs": "views/runs.py",
    "neuron": "views/neuron.py",
    "compare": "views/compare.py",
    "layers": "views/layers.py",
    "poly": "views/polysemanticity.py",
    "export": "views/export.py",
    "unit": "views/unit.py",
    "search": "views/search.py",
}


#: Sources of iteration 0, whose "reasoning" is just the source's name.
INITIAL_SOURCES = ("seed", "control-class", "random-class", "atlas", "random-atlas")


def status_badge(status: str) -> None:
    """A coloured badge for a run status."""
    label, colour = STATUS_BADGES.get(status, (status, "gray"))
    st.badge(label, color=colour)


def image_paths(run_dir: Path, rels: Sequence[str]) -> list[str]:
    """Absolute paths of stored images that exist (missing ones are skipped)."""
    out = []
    for rel in rels:
        try:
            path = state.store(run_dir).image_path(rel)
        except RunStoreError:
            continue
        if path.is_file():
            out.append(str(path))
    return out


def image_strip(
    run_dir: Path,
    rels: Sequence[str],
    captions: Sequence[str] | None = None,
    width: int = 112,
    limit: int | None = None,
) -> None:
    """A row of stored images with captions (e.g. each image's activation)."""
    pairs = [
        (path, captions[i] if captions else None)
        for i, rel in enumerate(rels[:limit] if limit else rels)
        for path in image_paths(run_dir, [rel])
    ]
    if not pairs:
        st.caption("no images stored")
        return
    paths, caps = zip(*pairs, strict=True)
    st.image(list(paths), caption=list(caps) if captions else None, width=width)


def record_images(
    run_dir: Path, record: ScoredRecord, width: int = 112, limit: int | None = None
) -> None:
    """A record's images, each captioned with the unit's activation on it, best first."""
    order = sorted(
        range(len(record.images)),
        key=lambda i: -(record.activations[i] if i < len(record.activations) else 0.0),
    )
    rels = [record.images[i] for i in order]
    captions = [
        f"act {record.activations[i]:.2f}" if i < len(record.activations) else "" for i in order
    ]
    image_strip(run_dir, rels, captions, width=width, limit=limit)


def struck(text: str) -> str:
    """Text struck through (combining long stroke), for banned concepts in tables."""
    return "".join(ch + "\u0336" for ch in text)


def mark(hist: RunHistory | None, concept: str) -> str:
    """What a table says about a concept: 'banned', 'ban queued', 'label' or ''."""
    if hist is None:
        return ""
    if hist.is_banned(concept):
        return "banned"
    if normalise(concept) in {normalise(c) for c in queued_bans(hist)}:
        return "ban queued"
    return "label" if normalise(concept) == normalise(hist.label) else ""


def record_card(
    run_dir: Path,
    record: ScoredRecord,
    baseline: Baseline | None,
    heading: str,
    width: int = 112,
    hist: RunHistory | None = None,
) -> None:
    """One scored concept: name, source, reasoning, score with interval and baseline, images."""
    verdict = beats_baseline(record, baseline)
    badges = " &nbsp; :green-badge[above baseline]" if verdict else ""
    note = mark(hist, record.concept)
    if note in ("banned", "ban queued"):
        badges += f" &nbsp; :red-badge[{note}]"
        name = f"~~`{record.concept}`~~" if note == "banned" else f"`{record.concept}`"
    else:
        name = f"`{record.concept}`"
    st.markdown(f"**{heading}** &nbsp; {name}{badges}")
    st.caption(f"{provenance_text(record)} · {score_line(record, baseline)}")
    if record.reasoning and record.reasoning not in INITIAL_SOURCES:
        st.markdown(f"> {record.reasoning}")
    record_images(run_dir, record, width=width)


def records_frame(
    records: Sequence[ScoredRecord],
    hist: RunHistory | None = None,
    pool: Sequence[str] = (),
) -> pd.DataFrame:
    """A table of scored concepts (best first, banned ones last, struck through and tagged).

    ``status`` says ``banned`` (the researcher banned it: never the label), ``ban queued``,
    ``label`` (the run's label, bans applied) or, when ``pool`` is given, ``in pool``.
    """
    in_pool = {normalise(c) for c in pool}
    ranked = sorted(records, key=lambda r: r.rank_key, reverse=True)
    if hist is not None:  # banned concepts last, where they no longer compete
        ranked.sort(key=lambda r: hist.is_banned(r.concept))
    rows = []
    for r in ranked:
        note = mark(hist, r.concept)
        if not note and normalise(r.concept) in in_pool:
            note = "in pool"
        rows.append({
            "concept": struck(r.concept) if note == "banned" else r.concept,
            "status": note,
            "source": source_cell(r),
            "AUC": round(r.auc, 4),
            "90% CI": f"[{r.auc_low:.2f}, {r.auc_high:.2f}]",
            "MAD": round(r.mad, 2),
            "mean act": round(r.mean_activation, 3),
            "images": len(r.activations),
            "iteration": r.iteration,
        })
    return pd.DataFrame(rows)


SCORE_COLUMNS = {
    "AUC": st.column_config.ProgressColumn(
        "AUC", min_value=0.0, max_value=1.0, format="%.3f", width="small",
        help="ROC AUC of the unit's activations on the concept's images vs the control images",
    ),
    "90% CI": st.column_config.TextColumn(
        "90% CI", help="bootstrap interval over the images", width="small"
    ),
    "MAD": st.column_config.NumberColumn(
        "MAD", format="%.2f", help="(mean concept - mean control) / SD control"
    ),
    "mean act": st.column_config.NumberColumn("mean act", format="%.3f"),
    "status": st.column_config.TextColumn(
        "status",
        help="banned: the researcher banned it (never the label); label: the run's label",
    ),
}


def records_table(
    records: Sequence[ScoredRecord],
    key: str,
    hist: RunHistory | None = None,
    pool: Sequence[str] = (),
    columns: Sequence[str] | None = None,
) -> None:
    """Show scored concepts as a sortable table with AUC bars (optionally only ``columns``)."""
    frame = records_frame(records, hist, pool)
    if frame.empty:
        st.caption("nothing scored yet")
        return
    st.dataframe(
        frame, hide_index=True, column_config=SCORE_COLUMNS, key=key, width="stretch",
        column_order=list(columns) if columns else None,
    )


def actions_frame(hist: RunHistory) -> pd.DataFrame:
    """The researcher's interventions as a table."""
    return pd.DataFrame(
        [
            {"iteration": a.iteration, "action": a.action, "concept": a.concept, "detail": a.detail}
            for a in hist.actions
        ]
    )


def summary_label(summary: state.RunSummary) -> str:
    """How a run is named in pickers."""
    label = summary.label or "(no label yet)"
    score = f" · AUC {summary.auc:.2f}" if summary.auc is not None else ""
    return f"{label}{score} — {summary.title} · {summary.proposer} · {summary.created[:16]}"


def run_picker(
    summaries: Sequence[state.RunSummary],
    key: str,
    param: str = "run",
    label: str = "Run",
    default: str | None = None,
    errors: object | None = None,
) -> state.RunSummary | None:
    """A run selectbox synced with a URL query parameter (so the page has a stable link).

    A URL naming an unknown run shows one ``st.error`` in ``errors`` (a container; default:
    where the picker is) and falls back to another run.
    """
    usable = [s for s in summaries if s.error is None]
    if not usable:
        st.info("No runs yet: start one on the **Explore** page.", icon=":material/info:")
        return None
    keys = [s.key for s in usable]
    by_key = {s.key: s for s in usable}
    url_value = st.query_params.get(param)
    synced_key = f"_{key}_synced"
    if url_value != st.session_state.get(synced_key):
        if url_value in by_key:
            st.session_state[key] = url_value
        elif url_value:
            (errors or st).error(
                f"Run '{url_value}' was not found in {state.runs_dir()}; showing another run.",
                icon=":material/error:",
            )
    if st.session_state.get(key) not in by_key:
        st.session_state[key] = default if default in by_key else keys[0]
    choice = st.selectbox(
        label, keys, key=key, format_func=lambda k: summary_label(by_key[k])
    )
    st.query_params[param] = choice
    st.session_state[synced_key] = choice
    return by_key[choice]


def page_link(page: str, label: str, icon: str, **params: object) -> None:
    """A link to another view carrying query parameters (a stable, shareable URL)."""
    st.page_link(
        PAGE_FILES[page], label=label, icon=icon,
        query_params={k: str(v) for k, v in params.items() if v is not None},
    )
