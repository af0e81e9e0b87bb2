"""The `line` CLI on good and bad input, through a real subprocess."""

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def line(*args, cwd=None, timeout=600):
    return subprocess.run(
        [sys.executable, "-m", "line_core.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
    )


def _assert_one_line_error(result, *words):
    assert result.returncode == 2, result.stderr
    lines = [ln for ln in result.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert lines[0].startswith("error: ")
    for word in words:
        assert word in lines[0]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--model", "no_such_model"], ["unknown model", "efficientnet_lite0"]),
        (["--model", "planted", "--layer", "nope"], ["nope", "line layers"]),
        (["--model", "planted", "--layer", "units", "--neuron", "99999"], ["99999"]),
        (["--model", "planted", "--control", "/no/such/folder"], ["/no/such/folder"]),
        (["--model", "no_such_pkg.mod:build"], ["no_such_pkg"]),
        (["--model", "planted", "--proposer", "nope"], ["unknown proposer"]),
        (["--model", "planted", "--generator", "nope"], ["unknown generator"]),
        (["--model", "planted", "--images-per-concept", "1"], ["images-per-concept"]),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, args, words):
    runs = tmp_path / "runs"
    result = line("explain", "--runs-dir", str(runs), *args)
    _assert_one_line_error(result, *words)
    assert not runs.exists() or not any(runs.iterdir())


def test_bad_run_folder_for_show_and_resume(tmp_path):
    _assert_one_line_error(line("show", str(tmp_path / "missing")), "not a folder")
    _assert_one_line_error(line("explain", "--resume", str(tmp_path)), "manifest.json")


def test_models_and_layers_listing():
    models = line("models")
    assert models.returncode == 0
    assert "efficientnet_lite0" in models.stdout and "planted" in models.stdout
    layers = line("layers", "planted")
    assert layers.returncode == 0 and "units" in layers.stdout
    _assert_one_line_error(line("layers", "nope"), "unknown model")


def test_explain_planted_json_then_show(tmp_path):
    result = line(
        "explain",
        "--model",
        "planted",
        "--layer",
        "units",
        "--neuron",
        "0",
        "--iterations",
        "2",
        "--proposer",
        "lexicon",
        "--runs-dir",
        str(tmp_path),
        "--json",
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["label"] and summary["auc"] is not None
    assert set(summary["seconds_by_stage"]) >= {"generate", "forward", "score", "store", "propose"}
    shown = line("show", summary["run_dir"], "--json")
    data = json.loads(shown.stdout)
    assert data["status"] == "finished"
    assert data["label"] == summary["label"]
    assert data["iterations_completed"] == 4  # initial pool, 2 iterations, summary


def test_poly_prints_groups_and_json(planted_runs):
    run_dir = planted_runs["or"]
    text = line("poly", str(run_dir))
    assert text.returncode == 0, text.stderr
    assert "verdict:" in text.stdout and "group 1:" in text.stdout
    result = line("poly", str(run_dir), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["groups"] and all(isinstance(g["concepts"], list) for g in data["groups"])
    assert {"formula", "verdict", "score"} <= set(data)


def test_poly_bad_run_dir_is_one_line(tmp_path):
    result = line("poly", str(tmp_path / "missing"))
    _assert_one_line_error(result, "missing")
