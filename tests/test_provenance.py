"""Provenance and timing from the record: who proposed and who changed a concept, worked time.

Runs are made by the real loop on the planted model (scripted proposer, procedural renderer);
old-format runs are made by stripping the fields this version added from real events.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from planted_runs import SCHEDULES, ScriptedProposer, make_run

from line_core import engine
from line_core.config import ExplainConfig
from line_core.record import Accept, Edit, RunStore, Stop
from line_core.record.events import (
    IterationDone,
    RunFinished,
    RunStarted,
    StageStarted,
    UserAction,
    event_from_dict,
)
from line_core.record.history import build_history

SCRIPT = SCHEDULES["mono"][1]


def _config(root: Path, **overrides: object) -> ExplainConfig:
    base = {"model": "planted", "layer": "units", "neuron": 0, "control": "generator",
            "control_size": 40, "iterations": len(SCRIPT) - 1, "runs_dir": str(root),
            "probe_share": 0.0}
    return ExplainConfig(**{**base, **overrides})


def _old_format(run_dir: Path) -> list:
    """The run's events as a run written before provenance fields existed would have them."""
    events = []
    for line in (run_dir / "events.jsonl").read_text().splitlines():
        data = json.loads(line)
        data.pop("original", None)
        data.pop("original_source", None)
        events.append(event_from_dict(data))
    return events


@pytest.mark.slow
def test_a_review_edit_is_the_users_with_the_proposal_kept(tmp_path):
    started = engine.start(_config(tmp_path, iterations=1, summary=False, review=True),
                           proposer=ScriptedProposer([("blue squares", "lexicon")]))
    run_dir = started.run_dir
    RunStore.open(run_dir).post(Accept(concept="golden grid"))  # answers the first review
    for _ in started.explainer.run():
        pass
    history = engine.history(run_dir)
    [record] = [r for r in history.records if r.iteration == 1]
    assert (record.concept, record.source) == ("golden grid", "user")
    assert (record.original, record.proposed_by, record.changed_by) == (
        "blue squares", "lexicon", "user")
    [accept] = [a for a in history.actions if a.action == "accept"]
    assert (accept.original, accept.original_source) == ("blue squares", "lexicon")
    row = next(r for r in history.table() if r["concept"] == "golden grid")
    assert (row["source"], row["proposed_by"], row["original"]) == (
        "user", "lexicon", "blue squares")
    # a run written before the fields existed says the same through its answer's detail
    old = build_history(_old_format(run_dir))
    [before] = [r for r in old.records if r.iteration == 1]
    assert (before.source, before.original, before.proposed_by) == (
        "user", "blue squares", "lexicon")


@pytest.mark.slow
def test_an_edit_of_a_pool_concept_keeps_the_original_and_its_proposer(tmp_path):
    run_dir = make_run(tmp_path, "mono", inject=None)
    RunStore.open(run_dir).post(Edit(concept="scarlet", new="deep scarlet"))
    explainer = engine.resume(run_dir, proposer=ScriptedProposer(SCRIPT))
    for _ in explainer.run():
        pass
    history = engine.history(run_dir)
    edited = [r for r in history.records if r.concept == "deep scarlet"]
    assert [(r.source, r.original, r.proposed_by) for r in edited] == [
        ("user", "scarlet", "llm")]
    unchanged = next(r for r in history.records if r.concept == "scarlet")
    assert (unchanged.proposed_by, unchanged.changed_by, unchanged.original) == ("llm", "", "")
    old = build_history(_old_format(run_dir))
    assert [(r.original, r.proposed_by) for r in old.records if r.concept == "deep scarlet"] == [
        ("scarlet", "llm")]


@pytest.mark.slow
def test_worked_time_sums_sessions_across_stop_and_resume_and_a_later_edit(tmp_path):
    started = engine.start(_config(tmp_path), proposer=ScriptedProposer(SCRIPT))
    store = started.explainer.store
    for event in started.explainer.run():
        if isinstance(event, IterationDone) and event.iteration == 2:
            store.post(Stop())  # applied when iteration 3 begins
    stopped = engine.history(store.run_dir)
    assert stopped.status == "stopped" and stopped.iterations_done == 3
    first_session = stopped.worked_seconds
    assert first_session > 0

    explainer = engine.resume(store.run_dir, proposer=ScriptedProposer(SCRIPT))
    for _ in explainer.run():
        pass
    resumed = engine.history(store.run_dir)
    # the resumed run does not stop again on the old stop: it finishes every iteration
    assert resumed.status == "finished"
    assert resumed.iterations_done == resumed.iterations_total
    assert [a.action for a in resumed.actions] == ["stop"] and not resumed.pending_commands
    per_iteration = {d.iteration: d.seconds for d in resumed.completed}
    assert resumed.worked_seconds == pytest.approx(sum(per_iteration.values()))
    assert resumed.worked_seconds > first_session  # both sessions, not the last one
    assert resumed.finished.seconds == pytest.approx(resumed.worked_seconds)

    # a later edit of the finished run (a third session) neither replaces nor changes it
    store.post(Edit(concept="crimson", new="dark crimson"))
    explainer = engine.resume(store.run_dir, proposer=ScriptedProposer(SCRIPT))
    for _ in explainer.run():
        pass
    edited = engine.history(store.run_dir)
    assert any(r.concept == "dark crimson" for r in edited.records)
    assert edited.worked_seconds == pytest.approx(resumed.worked_seconds)
    assert edited.finished.seconds == pytest.approx(resumed.worked_seconds)


def test_review_waits_are_not_work_and_old_runs_keep_their_time():
    """Built from events: a 60 s wait for the researcher inside a 61 s iteration is 1 s of work."""
    events = [
        RunStarted(model="m", layer="l", neuron=0, generator="g", proposer="p", iterations=1,
                   t=0.0),
        IterationDone(iteration=0, best_concept="a", best_auc=0.5, best_mad=0.0, seconds=2.0,
                      t=2.0),
        StageStarted(iteration=1, stage="review", detail="b", t=3.0),
        UserAction(iteration=1, action="accept", concept="b", detail="accepted", t=63.0),
        IterationDone(iteration=1, best_concept="b", best_auc=0.6, best_mad=0.0, seconds=61.0,
                      t=64.0),
        RunFinished(label="b", auc=0.6, mad=0.0, seconds=0.1, t=64.0),  # an old last-session time
    ]
    history = build_history(events)
    assert history.worked_seconds == pytest.approx(3.0)
    assert history.finished is not None and history.finished.seconds == 0.1  # never read
