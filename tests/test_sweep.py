"""Layer sweeps: lockstep rounds, one run folder per neuron, the same labels as independent runs,
fewer renders, and a sweep killed mid-way resumes without redoing finished neurons."""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import torch

from line_core import engine
from line_core.config import ExplainConfig
from line_core.engine.rounds import RoundBatcher
from line_core.engine.sweep import parse_neurons, plan_sweep
from line_core.errors import ConfigError
from line_core.record import RunStore, load_history
from line_core.targets import load_target

SETTINGS = dict(model="planted", layer="units", iterations=2, images_per_concept=2,
                control_size=20)


def test_parse_neurons():
    assert parse_neurons("0-3", 14) == [0, 1, 2, 3]
    assert parse_neurons("3,7,10-12", 14) == [3, 7, 10, 11, 12]
    assert parse_neurons("all", 5) == [0, 1, 2, 3, 4]
    picked = parse_neurons("random:4", 100, seed=7)
    assert len(set(picked)) == 4 and picked == parse_neurons("random:4", 100, seed=7)
    assert picked != parse_neurons("random:4", 100, seed=8)
    for bad in ("5-100", "abc", "", "random:0", "random:x", "4-2"):
        with pytest.raises(ConfigError):
            parse_neurons(bad, 14)


def test_round_batcher_fills_once_per_round_with_the_union():
    fills = []
    batcher = RoundBatcher(lambda requests: fills.append(sorted(requests)))
    for _ in range(3):
        batcher.join()
    seen = []

    def loop(concepts):
        batcher.ensure([(c, [1, 2]) for c in concepts])
        seen.append(len(fills))
        batcher.leave()

    threads = [threading.Thread(target=loop, args=(c,))
               for c in (["red"], ["red", "blue"], ["green"])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert fills == [[("blue", [1, 2]), ("green", [1, 2]), ("red", [1, 2])]]
    assert seen == [1, 1, 1] and batcher.rounds == 1 and batcher.largest == 6


def test_round_batcher_does_not_wait_for_a_loop_that_left_and_reports_fill_errors():
    def fail(requests):
        raise RuntimeError("renderer broke")

    batcher = RoundBatcher(fail)
    batcher.join()
    batcher.join()
    errors = []

    def loop():
        try:
            batcher.ensure([("red", [1])])
        except RuntimeError as exc:
            errors.append(str(exc))

    waiting = threading.Thread(target=loop)
    waiting.start()
    time.sleep(0.2)
    assert waiting.is_alive()  # waits for the other loop ...
    batcher.leave()  # ... which ends without measuring: the round runs at once
    waiting.join(10)
    assert errors == ["renderer broke"]


@pytest.mark.slow
def test_a_sweep_gives_each_neuron_the_labels_of_an_independent_run_with_fewer_renders(
        tmp_path, monkeypatch):
    monkeypatch.setenv("LINE_ATLAS_DIR", str(tmp_path / "atlas"))
    target = load_target("planted")
    neurons = [0, 5, 12]
    independent = {}
    rendered_alone = 0
    for neuron in neurons:
        config = ExplainConfig(neuron=neuron, runs_dir=str(tmp_path / "alone"), atlas=False,
                               **SETTINGS)
        explainer = engine.start(config, target=target).explainer
        list(explainer.run())
        history = load_history(explainer.store.run_dir)
        independent[neuron] = history
        events = RunStore.open(explainer.store.run_dir).events()
        rendered_alone += sum(len(e.seeds) for e in events if e.type == "images_generated")
    sweep = plan_sweep(ExplainConfig(runs_dir=str(tmp_path / "swept"), **SETTINGS), "0,5,12",
                       target=target)
    report = sweep.run()
    assert [o.neuron for o in report.outcomes] == neurons
    assert all(o.status == "finished" for o in report.outcomes)
    for outcome in report.outcomes:
        swept = load_history(outcome.run_dir)
        alone = independent[outcome.neuron]
        assert [(r.concept, r.source) for r in swept.records] == \
            [(r.concept, r.source) for r in alone.records]
        np.testing.assert_allclose([r.auc for r in swept.records],
                                   [r.auc for r in alone.records], atol=1e-6)
        assert swept.best().concept == alone.best().concept == outcome.label
        assert RunStore.open(outcome.run_dir).manifest().neuron == outcome.neuron
    # every round rendered each distinct concept once for all neurons (plus the control set)
    assert report.rendered < rendered_alone
    assert report.rounds <= SETTINGS["iterations"] + 2
    record = json.loads((report.folder / "sweep.json").read_text())
    assert sorted(record["runs"]) == ["0", "12", "5"]
    # the same plan again: the finished sweep is not resumed, a new one finds everything stored
    again = plan_sweep(ExplainConfig(runs_dir=str(tmp_path / "swept"), **SETTINGS), "0,5,12",
                       target=target).run()
    assert again.folder != report.folder and again.rendered == 0


def _line(*args, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "line_core.cli", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


@pytest.mark.slow
def test_a_sweep_killed_mid_way_resumes_without_redoing_finished_neurons(tmp_path):
    env = {**os.environ, "LINE_ATLAS_DIR": str(tmp_path / "atlas")}
    runs = tmp_path / "runs"
    args = ["explain-layer", "--model", "planted", "--layer", "units", "--neurons", "0-5",
            "--iterations", "3", "--images-per-concept", "2", "--control-size", "20",
            "--parallel", "2", "--runs-dir", str(runs)]
    first = _line(*args, env=env)
    deadline = time.time() + 300
    finished = []
    while time.time() < deadline and first.poll() is None:
        finished = [p for p in runs.glob("planted-units-*")
                    if (p / "events.jsonl").exists() and "run_finished" in
                    (p / "events.jsonl").read_text()]
        if len(finished) >= 2:
            break
        time.sleep(0.2)
    assert first.poll() is None, first.communicate()
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    before = {p.name: (p / "events.jsonl").read_bytes() for p in finished}
    second = _line(*args, env=env)
    out, err = second.communicate(timeout=600)
    assert second.returncode == 0, err
    assert "resuming sweep" in err
    record = json.loads(next((runs / "sweeps").iterdir()).joinpath("sweep.json").read_text())
    assert sorted(int(k) for k in record["runs"]) == [0, 1, 2, 3, 4, 5]
    for name, events in before.items():  # finished neurons were not touched again
        assert (runs / name / "events.jsonl").read_bytes() == events
    for name in record["runs"].values():
        history = load_history(runs / name)
        assert history.finished is not None
        assert history.iterations_done == history.iterations_total
    assert len(list(runs.glob("planted-units-*"))) == 6  # no neuron got a second run folder
    assert "6/6 neurons explained" in out


def test_threads_sharing_a_model_take_turns_in_the_forward():
    from helpers_models import FixedConvNet, make_target

    from line_core.probe import layer_activations

    target = make_target(FixedConvNet(), size=8)
    rng = np.random.default_rng(0)
    batches = [torch.tensor(rng.random((6, 3, 8, 8)), dtype=torch.float32) for _ in range(4)]
    expected = [layer_activations(target, "conv", b) for b in batches]
    errors, results = [], {}

    def work(index):
        try:
            for _ in range(25):
                results[index] = layer_activations(target, "conv", batches[index])
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    for index, values in results.items():
        np.testing.assert_array_equal(values, expected[index])
