"""The LINE loop end to end on real components: planted model, procedural renderer, lexicon."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from line_core import engine
from line_core.config import DEFAULT_PROBE_SHARE, ExplainConfig
from line_core.engine.probes import probe_quota
from line_core.record import Ban, Inject, list_runs, load_history
from line_core.record.events import ConceptScored, IterationDone, PoolUpdated, RunFinished
from line_core.record.history import build_history
from line_core.record.store import RunStore


def new_run(config):
    return engine.start(config).explainer


resume_run = engine.resume


def _config(tmp_path, **kw):
    base = dict(
        model="planted",
        layer="units",
        neuron=0,
        proposer="lexicon",
        iterations=3,
        runs_dir=str(tmp_path),
        control_size=40,
    )
    base.update(kw)
    return ExplainConfig(**base)


def _concepts_by_iteration(history):
    return [(r.iteration, r.concept, round(r.auc, 6)) for r in history.records]


def test_run_structure_and_pool_rule(tmp_path):
    explainer = new_run(_config(tmp_path))
    events = list(explainer.run())
    done = [e.iteration for e in events if isinstance(e, IterationDone)]
    assert done == [0, 1, 2, 3, 4]  # initial pool, 3 iterations, summary
    pools = [e for e in events if isinstance(e, PoolUpdated)]
    assert all(len(p.pool) <= 10 for p in pools)
    assert len(pools[0].pool) == 10
    assert isinstance(events[-1], RunFinished)
    history = load_history(explainer.store.run_dir)
    best = history.best()
    assert events[-1].label == best.concept
    # every later pool keeps the best concept so far
    for p in pools:
        scored = {r.concept: r for r in history.records if r.iteration <= p.iteration}
        top = max(scored.values(), key=lambda r: r.rank_key)
        assert top.concept in p.pool
    # images per concept and distinct seeds per concept
    proposals = [e for e in events if isinstance(e, ConceptScored) and e.iteration > 0]
    assert all(len(e.images) == 5 and len(e.activations) == 5 for e in proposals)
    assert (explainer.store.run_dir / "history.csv").exists()
    # scores carry a bootstrap interval
    assert all(r.auc_low <= r.auc <= r.auc_high for r in history.records)


def test_no_concept_is_tried_twice(tmp_path):
    explainer = new_run(_config(tmp_path, iterations=6))
    list(explainer.run())
    history = load_history(explainer.store.run_dir)
    proposed = [r.concept.lower() for r in history.records if r.iteration > 0]
    assert len(proposed) == len(set(proposed))
    seeds = {r.concept.lower() for r in history.records if r.iteration == 0}
    assert not seeds & set(proposed)


def test_steering_commands_are_events(tmp_path):
    explainer = new_run(_config(tmp_path, iterations=1))
    store = explainer.store
    store.post(Inject(concepts=("purple checkerboard", "red")))
    store.post(Ban(concept="red"))
    list(explainer.run())
    history = load_history(store.run_dir)
    actions = [(a.action, a.concept) for a in history.actions]
    assert actions[0] == ("inject", "purple checkerboard; red")
    assert ("ban", "red") in actions
    user = [r for r in history.records if r.source == "user"]
    assert [r.concept for r in user] == ["purple checkerboard"]  # "red" was a seed: not re-run
    assert user[0].iteration == 0 and "purple checkerboard" in history.pools[0]
    assert all(r.concept != "red" for r in history.current_pool())
    # a resume does not apply the same commands again
    again = resume_run(store.run_dir)
    assert not list(again.run())
    assert len(load_history(store.run_dir).actions) == len(history.actions)


def test_resume_of_a_partial_run_matches_an_uninterrupted_run(tmp_path):
    full = new_run(_config(tmp_path / "a", iterations=4))
    list(full.run())
    reference = _concepts_by_iteration(load_history(full.store.run_dir))

    partial = new_run(_config(tmp_path / "b", iterations=4))
    for event in partial.run():
        if isinstance(event, ConceptScored) and event.iteration == 3:
            break  # abandon mid-iteration 3: its scored concept is on disk, IterationDone is not
    resumed = resume_run(partial.store.run_dir)
    assert resumed.start_iteration == 3
    list(resumed.run())
    history = load_history(partial.store.run_dir)
    assert _concepts_by_iteration(history) == reference
    assert [d.iteration for d in history.completed] == [0, 1, 2, 3, 4, 5]


@pytest.mark.slow
def test_sigkill_mid_run_then_resume(tmp_path):
    runs = tmp_path / "runs"
    cmd = [
        sys.executable,
        "-m",
        "line_core.cli",
        "explain",
        "--model",
        "planted",
        "--layer",
        "units",
        "--neuron",
        "5",
        "--iterations",
        "8",
        "--proposer",
        "lexicon",
        "--runs-dir",
        str(runs),
        "--control-size",
        "40",
        "--json",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 300
    run_dir = None
    killed_after = None
    while time.time() < deadline and proc.poll() is None:
        found = list_runs(runs)
        if found:
            run_dir = found[0]
            lines = (run_dir / "events.jsonl").read_text().splitlines()
            done = [json.loads(x)["iteration"] for x in lines[:-1] if '"iteration_done"' in x]
            if done and max(done) >= 2:
                os.kill(proc.pid, signal.SIGKILL)
                killed_after = max(done)
                break
        time.sleep(0.05)
    proc.wait(timeout=30)
    assert killed_after is not None, "the run ended before it could be killed"
    assert proc.returncode == -signal.SIGKILL
    before = build_history(RunStore.open(run_dir).events())
    kept = _concepts_by_iteration(before)
    kept = [k for k in kept if k[0] <= before.last_completed_iteration]

    resumed = subprocess.run(
        [sys.executable, "-m", "line_core.cli", "explain", "--resume", str(run_dir), "--json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert resumed.returncode == 0, resumed.stderr
    history = load_history(run_dir)
    completed = [d.iteration for d in history.completed]
    assert completed == list(range(0, 10))  # 0..8 plus summary, each exactly once
    after = _concepts_by_iteration(history)
    assert after[: len(kept)] == kept  # nothing completed was lost or changed
    assert history.status == "finished"
    per_iteration = {}
    for r in history.records:
        if r.iteration > 0:
            per_iteration.setdefault(r.iteration, []).append(r)
    for records in per_iteration.values():  # no iteration duplicated
        concepts = [r.concept for r in records]
        assert len(concepts) == len(set(concepts))
        # a proposal iteration scores one concept; a probe iteration a batch, all probes
        assert len(records) == 1 or all(r.source == "probe" for r in records)
    probe_iterations = {r.iteration for r in history.records if r.source == "probe"}
    assert len(probe_iterations) == probe_quota(8, DEFAULT_PROBE_SHARE)  # kept across the kill
    assert Path(json.loads(resumed.stdout.splitlines()[-1])["run_dir"]) == run_dir


@pytest.mark.slow
def test_default_unit_responds_to_what_the_renderer_draws(tmp_path):
    """The offline default neuron must have something visible to explain (stars)."""
    import numpy as np

    parts = engine.prepare(ExplainConfig(runs_dir=str(tmp_path)))
    images = parts.generator.generate("black stars", list(range(5)))
    from line_core.probe import layer_activations
    from line_core.scoring import score_activations

    acts = layer_activations(parts.target, parts.layer, images)[:, parts.neuron]
    score = score_activations(np.asarray(acts), parts.control.unit(parts.neuron))
    assert score.auc > 0.9 and score.mad > 2.0


@pytest.mark.slow
@pytest.mark.parametrize("proposer", ["smollm2", "gemma3-270m"])
def test_real_offline_stack_with_each_shipped_llm(tmp_path, proposer):
    """EfficientNet-Lite0 (real weights) + procedural renderer + a shipped LLM, 2 iterations."""
    explainer = new_run(
        ExplainConfig(proposer=proposer, iterations=2, runs_dir=str(tmp_path), control_size=40,
                      probe_share=0.0)  # every iteration asks the LLM
    )
    events = list(explainer.run())
    assert isinstance(events[-1], RunFinished)
    history = load_history(explainer.store.run_dir)
    proposed = [p for p in history.proposals if p.iteration > 0]
    assert len(proposed) == 3  # two iterations and the summary
    assert all(p.source.removeprefix("summary-") in {"llm", "lexicon"} for p in proposed)
    assert all(p.concept.strip() and p.reasoning for p in proposed)
    assert history.best().auc > 0.5


@pytest.mark.slow
@pytest.mark.parametrize("unit_index", [2, 6, 12])
def test_loop_recovers_planted_concepts(tmp_path, unit_index):
    """Planted units 2 (blue), 6 (vertical stripes) and 12 (OR unit: red or vertical stripes)."""
    from line_core.targets.planted_units import planted_unit

    unit = planted_unit(unit_index)
    explainer = new_run(_config(tmp_path, neuron=unit_index, iterations=6))
    list(explainer.run())
    label = load_history(explainer.store.run_dir).best().concept
    assert unit.matches(label), (unit.concept, label)
