"""A run folder under stress: two writers, corrupt lines, failing models, crashes after the end.

Each test reproduces one case a stress test found, through the real CLI in subprocesses, and
checks the behaviour the redesign promises: one writer per run, a repair that loses nothing,
``RunFailed`` with the reason, one-line errors with exit 2 and no folder for bad input.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from line_core import cli, engine
from line_core.config import ExplainConfig
from line_core.record import list_runs, load_history

pytestmark = pytest.mark.slow

MODELS = textwrap.dedent(
    """
    import os
    import torch
    from torch import nn

    class Nan(nn.Module):
        def forward(self, x):
            return x * float("nan")

    class FailOnFive(nn.Module):
        # fails on a batch of exactly 5 images: the first proposal iteration

        def forward(self, x):
            if x.shape[0] == 5:
                raise RuntimeError("CUDA out of memory (simulated)")
            return x

    def conv():
        torch.manual_seed(0)
        return nn.Conv2d(3, 4, 3)

    def nan_model():
        return nn.Sequential(conv(), Nan(), nn.AdaptiveAvgPool2d(1), nn.Flatten())

    def fails_on_five_images():
        return nn.Sequential(conv(), FailOnFive(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    """
)


def line(*args: str, env: dict | None = None, cwd: Path | None = None, timeout: int = 600):
    return subprocess.run(
        [sys.executable, "-m", "line_core.cli", *args],
        capture_output=True, text=True, timeout=timeout, cwd=cwd,
        env={**os.environ, **(env or {})},
    )


def one_line_error(result: subprocess.CompletedProcess, *words: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = [ln for ln in result.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


@pytest.fixture
def models(tmp_path: Path) -> Path:
    path = tmp_path / "stress_models.py"
    path.write_text(MODELS)
    (tmp_path / "exits.py").write_text("raise SystemExit(3)\n")
    return tmp_path


def planted(runs: Path, neuron: int = 0, iterations: int = 2) -> list[str]:
    return ["--model", "planted", "--layer", "units", "--neuron", str(neuron), "--iterations",
            str(iterations), "--runs-dir", str(runs), "--control-size", "40"]


def test_two_writers_one_lock(tmp_path: Path) -> None:
    """Two resumes of one run at once: one works, the other is one line naming the holder."""
    # long enough that the first resume cannot finish before the second one starts
    started = engine.start(ExplainConfig(model="planted", layer="units", neuron=3,
                                         iterations=12, control_size=40,
                                         runs_dir=str(tmp_path)))
    run_dir = started.run_dir
    started.explainer.store.lock.release()  # as the dashboard does before its worker starts
    procs = [
        subprocess.Popen([sys.executable, "-m", "line_core.cli", "explain", "--resume",
                          str(run_dir), "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
        for _ in range(2)
    ]
    results = [(p.wait(timeout=600), p.stdout.read(), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 2], results
    loser = next(err for code, _, err in results if code == 2)
    assert "being written by pid" in loser and len(loser.strip().splitlines()) == 1
    history = load_history(run_dir)
    done = [d.iteration for d in history.completed]
    assert done == sorted(set(done)) == list(range(14))  # no iteration twice
    assert history.status == "finished"


def test_a_corrupt_line_is_moved_aside_and_the_run_completes(tmp_path: Path) -> None:
    first = line("explain", *planted(tmp_path, iterations=3), "--json")
    assert first.returncode == 0, first.stderr
    run_dir = Path(json.loads(first.stdout.splitlines()[-1])["run_dir"])
    events = run_dir / "events.jsonl"
    lines = events.read_text().splitlines()
    cut = max(i for i, x in enumerate(lines) if '"iteration_done"' in x and '"iteration":1' in x)
    events.write_text("\n".join(lines[: cut + 1]) + '\n{"type": "concept_scored", "auc": 0.9\n')
    # readers skip the bad line: show works before any repair
    shown = line("show", str(run_dir), "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["corrupt_lines"] == 1
    resumed = line("explain", "--resume", str(run_dir), "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert "moved corrupt line" in resumed.stderr
    aside = (run_dir / "events.jsonl.corrupt").read_text()
    assert '"concept_scored", \\"auc\\": 0.9' in aside or "0.9" in aside
    history = load_history(run_dir)
    assert history.status == "finished" and history.corrupt_lines == 0
    assert [d.iteration for d in history.completed] == list(range(5))
    exported = line("export", str(run_dir), "--format", "svg", "--out", str(tmp_path / "fig"))
    assert exported.returncode == 0, exported.stderr


def test_a_model_failing_mid_run_records_run_failed(tmp_path: Path, models: Path) -> None:
    runs = tmp_path / "runs"
    result = line("explain", "--model", f"{models / 'stress_models.py'}:fails_on_five_images",
                  "--layer", "2", "--neuron", "1", "--iterations", "2", "--runs-dir", str(runs),
                  "--control-size", "40", "--probe-share", "0",  # proposals: 5-image batches
                  env={"LINE_CACHE_DIR": str(tmp_path / "cache")})
    one_line_error(result, "failed in its forward pass", "CUDA out of memory")
    [run_dir] = list_runs(runs)
    history = load_history(run_dir)
    assert history.status == "failed"
    assert "CUDA out of memory" in history.failed.message
    assert history.iterations_done == 1  # iteration 0 finished before the failure
    shown = line("show", str(run_dir))
    assert "[failed" in shown.stdout and "failed: " in shown.stdout


def test_a_run_killed_after_it_finished_gets_its_tables(tmp_path: Path) -> None:
    done = line("explain", *planted(tmp_path, iterations=1), "--json")
    run_dir = Path(json.loads(done.stdout.splitlines()[-1])["run_dir"])
    for name in ("history.csv", "history.parquet"):
        (run_dir / name).unlink()  # as if killed between run_finished and the tables
    again = line("explain", "--resume", str(run_dir), "--json")
    assert again.returncode == 0, again.stderr
    rows = (run_dir / "history.csv").read_text().count("\n") - 1
    assert rows == len(load_history(run_dir).records)
    assert (run_dir / "history.parquet").stat().st_size > 0


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--neuron", "abc"], ["invalid int value: 'abc'"]),
        (["--iterations", "1000000000000"], ["--iterations", "1000"]),
        (["--images-per-concept", "100000000"], ["--images-per-concept", "500"]),
        (["--proposer", "openai:http://127.0.0.1:9/v1/m"], ["cannot reach"]),
        (["--model", "{models}/stress_models.py:nan_model", "--layer", "1", "--neuron", "0"],
         ["non-finite"]),
        (["--model", "{models}/exits.py:build"], ["SystemExit"]),
    ],
)
def test_bad_input_is_one_line_and_leaves_no_folder(tmp_path: Path, models: Path, extra, words):
    runs = tmp_path / "runs"
    args = [a.replace("{models}", str(models)) for a in extra]
    result = line("explain", "--model", "planted", "--layer", "units", "--runs-dir", str(runs),
                  *args, env={"LINE_CACHE_DIR": str(tmp_path / "cache")})
    one_line_error(result, *words)
    assert not runs.exists() or not any(runs.iterdir())


def test_an_empty_runs_dir_writes_nothing_in_the_working_folder(tmp_path: Path) -> None:
    result = line("explain", "--model", "planted", "--runs-dir", "", cwd=tmp_path)
    one_line_error(result, "--runs-dir")
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_is_one_line(monkeypatch, capsys) -> None:
    def full(_args):
        raise OSError(errno.ENOSPC, "No space left on device", "/runs/x/events.jsonl")

    monkeypatch.setitem(cli.COMMANDS, "show", full)
    assert cli.main(["show", "x"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: cannot read or write /runs/x/events.jsonl: No space left on device"]


def test_a_worker_starts_even_while_an_earlier_one_is_still_exiting(tmp_path: Path) -> None:
    """A command posted right after a run ended is applied (the old worker's pid is alive)."""
    import time

    from line_core.engine.worker import WORKER_FILE, launch_worker
    from line_core.record import Inject, RunStore, WriterLock

    done = line("explain", *planted(tmp_path, iterations=1), "--json")
    run_dir = Path(json.loads(done.stdout.splitlines()[-1])["run_dir"])
    (run_dir / WORKER_FILE).write_text(json.dumps({"pid": os.getpid()}))  # alive, not writing
    with WriterLock(run_dir):  # while someone writes, nothing new starts
        assert launch_worker(run_dir) == os.getpid()
    command_id = RunStore.open(run_dir).post(Inject(concepts=("teal zigzags",)))
    assert engine.status(run_dir).word == "finished"
    assert engine.apply_late_commands(run_dir)  # the old worker's pid is alive: starts anyway
    deadline = time.time() + 300
    while not (command_id in load_history(run_dir).answered and not engine.status(run_dir).live
               and load_history(run_dir).status == "finished"):
        assert time.time() < deadline, (run_dir / "worker.log").read_text()
        time.sleep(0.5)
    history = load_history(run_dir)
    assert any(r.concept == "teal zigzags" and r.source == "user" for r in history.records)
    from line_core.record import Stop

    RunStore.open(run_dir).post(Stop())
    assert not engine.apply_late_commands(run_dir)  # a stop on its own starts nothing


def test_a_resume_that_cannot_load_its_model_records_why(tmp_path: Path, models: Path) -> None:
    spec = f"{models / 'stress_models.py'}:fails_on_five_images"
    runs = tmp_path / "runs"
    failed = line("explain", "--model", spec, "--layer", "2", "--neuron", "1", "--iterations",
                  "2", "--runs-dir", str(runs), "--control-size", "40",
                  env={"LINE_CACHE_DIR": str(tmp_path / "cache")})
    assert failed.returncode == 2
    [run_dir] = list_runs(runs)
    (models / "stress_models.py").unlink()  # the model file is gone
    again = line("explain", "--resume", str(run_dir))
    one_line_error(again, "not found")
    history = load_history(run_dir)
    assert history.status == "failed"
    assert history.failed.message.startswith("resume failed:") and "not found" in (
        history.failed.message
    )
