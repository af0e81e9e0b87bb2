"""`line evaluate` on good and bad input (in process; the subprocess checks are slow)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from line_core.cli import main


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def run(capsys, *args: str) -> tuple[int, str, str]:
    try:
        code = main(["evaluate", "--model", "planted", "--layer", "units", *args])
    except SystemExit as exc:  # argparse errors exit from inside main
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, *words: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1, err
    assert lines[0].startswith("error: ") and "Traceback" not in err
    for word in words:
        assert word in lines[0], lines[0]


@pytest.fixture()
def files(tmp_path) -> dict[str, Path]:
    return {
        "good": write(tmp_path / "CLIP-Dissect" / "planted-units.csv",
                      "layer,unit,description\nunits,0,red\nunits,1,green\nunits,8,checkerboard\n"),
        "other_layer": write(tmp_path / "a" / "l.csv", "layer,unit,description\nlayer4,0,dog\n"),
        "out_of_range": write(tmp_path / "b" / "r.csv", "neuron,concept\n0,red\n600,dog\n"),
        "empty": write(tmp_path / "c" / "empty.csv", ""),
        "unknown": write(tmp_path / "d" / "u.csv", "id,text\n0,red\n"),
    }


@pytest.mark.parametrize(
    ("source", "extra", "words"),
    [
        ("other_layer", [], ["layer4", "'units'"]),
        ("out_of_range", [], ["out of range", "600", "0..13"]),
        ("empty", [], ["is empty"]),
        ("unknown", [], ["fits no known label format"]),
        ("missing", [], ["does not exist"]),
        ("good", ["--images", "1"], ["--images", "2 and 1000"]),
        ("good", ["--images", "1001"], ["--images"]),
        ("good", ["--control", "/no/such/folder"], ["/no/such/folder"]),
        ("good", ["--natural-control", "/no/such/folder"], ["--natural-control", "/no/such"]),
        ("good", ["--natural-control", "generator"], ["--natural-control"]),
        ("good", ["--generator", "nope"], ["unknown generator"]),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(capsys, tmp_path, files, source,
                                                         extra, words):
    path = files.get(source, tmp_path / "missing.csv")
    out = tmp_path / "out"
    code, stdout, err = run(capsys, "--labels", str(path), "--out", str(out), *extra)
    assert_one_line_error(code, err, *words)
    assert stdout == "" and not out.exists()


def test_bad_model_layer_and_missing_labels(capsys, files):
    code, _, err = run(capsys, "--labels", str(files["good"]), "--layer", "nope")
    assert_one_line_error(code, err, "nope", "line layers")
    code, _, err = run(capsys)
    assert_one_line_error(code, err, "--labels")


def test_another_evaluations_folder_is_refused_without_force(capsys, tmp_path, files):
    out = tmp_path / "out"
    args = ["--labels", str(files["good"]), "--images", "3", "--out", str(out)]
    assert run(capsys, *args)[0] == 0
    before = (out / "results.csv").read_text()
    code, _, err = run(capsys, *args[:-2], "--images", "4", "--out", str(out))
    assert_one_line_error(code, err, "different evaluation", "--force")
    assert (out / "results.csv").read_text() == before
    assert run(capsys, *args)[0] == 0  # the same evaluation again replaces itself
    code, _, _ = run(capsys, "--labels", str(files["good"]), "--images", "4", "--out", str(out),
                     "--force")
    assert code == 0 and pd.read_csv(out / "results.csv")["n_images"].eq(4).all()


def test_a_label_the_generator_cannot_draw_is_flagged_not_fatal(capsys, tmp_path):
    labels = write(tmp_path / "MILAN" / "x.csv", "layer,unit,description\nunits,0,tench\n"
                   "units,1,green\n")
    code, stdout, err = run(capsys, "--labels", str(labels), "--images", "3", "--out",
                            str(tmp_path / "out"))
    assert code == 0 and "MILAN" in stdout
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "'tench'" in warnings[0] and "draw" in warnings[0]
    rows = pd.read_csv(tmp_path / "out" / "results.csv").set_index("label")
    assert not rows.loc["tench", "drawable"] and rows.loc["green", "drawable"]


def test_json_is_one_object_with_methods_and_tests(capsys, tmp_path, files):
    other = write(tmp_path / "INVERT" / "planted-units.csv",
                  "neuron,concept\n0,crimson\n1,blue\n8,polka dots\n")
    code, stdout, _ = run(capsys, "--labels", str(files["good"]), "--labels", str(other),
                          "--images", "4", "--out", str(tmp_path / "out"), "--json")
    assert code == 0 and len(stdout.strip().splitlines()) == 1
    data = json.loads(stdout)
    methods = {m["name"]: m for m in data["methods"]}
    assert set(methods) == {"CLIP-Dissect", "INVERT"}
    assert methods["CLIP-Dissect"]["neurons"] == 3
    assert methods["CLIP-Dissect"]["mean_auc"] > methods["INVERT"]["mean_auc"]
    auc = next(t for t in data["tests"] if t["metric"] == "auc")
    assert (auc["method_a"], auc["method_b"], auc["n"]) == ("CLIP-Dissect", "INVERT", 3)
    assert auc["test"] in ("paired t-test", "Wilcoxon signed-rank") and 0 < auc["p"] <= 1
    assert auc["p_holm"] == pytest.approx(auc["p"])


def test_natural_control_adds_a_regime_to_the_json_and_the_table(capsys, tmp_path, files):
    from line_core.control import write_photo_crops

    photos = write_photo_crops(tmp_path / "photos", count=12, size=64)
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run(capsys, "--labels", str(files["good"]), "--natural-control", str(empty),
                       "--out", str(tmp_path / "bad"))
    assert_one_line_error(code, err, "--natural-control", "0 readable images")
    assert not (tmp_path / "bad").exists()
    args = ["--labels", str(files["good"]), "--images", "3", "--natural-control", str(photos),
            "--out", str(tmp_path / "out")]
    code, stdout, _ = run(capsys, *args, "--json")
    assert code == 0
    data = json.loads(stdout)
    assert data["controls"] == ["generator", "natural"]
    assert [(m["name"], m["control"]) for m in data["methods"]] == [
        ("CLIP-Dissect", "generator"), ("CLIP-Dissect", "natural")]
    assert isinstance(data["collapsed"], list)
    rows = pd.read_csv(tmp_path / "out" / "results.csv")
    assert rows.groupby("control").size().to_dict() == {"generator": 3, "natural": 3}
    code, stdout, _ = run(capsys, *args)  # the same evaluation again: the text report
    assert code == 0 and "control: natural images" in stdout and "collapsed under" in stdout


# -- through a real subprocess (slow: a fresh interpreter per call) ----------------------------
def line(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "line_core.cli", "evaluate", *args],
                          capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_our_runs_against_a_peer_csv_through_the_command(planted_runs, tmp_path):
    runs = tmp_path / "runs"
    for kind, run_dir in planted_runs.items():
        shutil.copytree(run_dir, runs / kind / run_dir.name)
    peer = write(tmp_path / "CLIP-Dissect" / "planted-units.csv",
                 "layer,unit,description\nunits,0,red\nunits,12,vertical stripes\nunits,3,tench\n")
    result = line("--model", "planted", "--layer", "units", "--labels", str(runs),
                  "--labels", str(peer), "--images", "5", "--out", str(tmp_path / "out"),
                  "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {m["name"] for m in data["methods"]} == {"LINE (scripted)", "CLIP-Dissect"}
    assert all(t["test"] == "not testable" and t["p"] is None for t in data["tests"])  # 2 shared
    bad = line("--model", "planted", "--layer", "units", "--labels", str(tmp_path / "nope.csv"))
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
