"""Run folders for the dashboard tests, made by the real loop on the planted model.

Three finished runs, built once per test session (``pristine_runs``) and copied per test:

* ``mono``: planted unit 0 ("red"), steered before it ran: "red" banned, "pink flowers" injected
  (so the label is not "red": bans apply to the label);
* ``or``: planted unit 12 ("red OR vertical stripes");
* ``classes``: planted unit 0 against a control FOLDER of class subfolders, so the initial pool
  is control classes (top 5 + random ones) and the baseline is the random classes.

This module also checks the fixtures themselves, so a change in the loop that breaks what the
dashboard tests rely on fails here with a clear message.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from line_core import engine
from line_core.concepts import Source
from line_core.config import ExplainConfig
from line_core.record import Ban, Inject, RunStore

#: Control classes of the ``classes`` run: colours and patterns the planted model knows.
CLASSES = {
    "red": ((215, 30, 35), None), "blue": ((40, 80, 210), None), "green": ((40, 160, 60), None),
    "yellow": ((240, 210, 40), None), "black": ((15, 15, 15), None),
    "white": ((240, 240, 240), None), "purple": ((130, 50, 160), None),
    "orange": ((245, 140, 30), None), "vertical_stripes": ((20, 20, 20), "vertical"),
    "horizontal_stripes": ((20, 20, 20), "horizontal"), "grey": ((128, 128, 128), None),
}  # fmt: skip
IMAGES_PER_CLASS = 2
ITERATIONS = 3

_BUILT: dict[str, Path] = {}


def class_folder(root: Path) -> Path:
    """A control folder with one subfolder of small PNGs per class (>= 10 images in all)."""
    rng = np.random.default_rng(0)
    for name, (colour, stripes) in CLASSES.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(IMAGES_PER_CLASS):
            pixels = np.empty((32, 32, 3), dtype=np.float64)
            pixels[:] = colour
            if stripes:
                yy, xx = np.mgrid[0:32, 0:32]
                axis = xx if stripes == "vertical" else yy
                pixels[((axis + 2 * i) // 4) % 2 == 0] = (240, 240, 240)
            pixels += rng.normal(0, 8, pixels.shape)
            image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
            image.save(root / name / f"{i:02d}.png")
    return root


def _run(config: ExplainConfig, *commands: object) -> Path:
    started = engine.start(config)
    store = RunStore.open(started.run_dir)
    for command in commands:
        store.post(command)
    for _ in started.explainer.run():
        pass
    return started.run_dir


def build_runs(root: Path) -> dict[str, Path]:
    """Make the three fixture runs under ``root/runs`` (about a minute or two on 2 cores)."""
    runs = root / "runs"
    plain = {"model": "planted", "layer": "units", "iterations": ITERATIONS,
             "runs_dir": str(runs)}
    return {
        "mono": _run(ExplainConfig(neuron=0, **plain), Ban(concept="red"),
                     Inject(concepts=("pink flowers",))),
        "or": _run(ExplainConfig(neuron=12, **plain)),
        "classes": _run(ExplainConfig(neuron=0, control=str(class_folder(root / "control")),
                                      **{**plain, "iterations": 2})),
    }


def _reuse(folder: Path) -> dict[str, Path] | None:
    """Runs kept in ``$LINE_TEST_DASHBOARD_RUNS`` by an earlier session, if complete."""
    found = {}
    for kind, neuron, control in (("mono", 0, False), ("or", 12, False), ("classes", 0, True)):
        for run_dir in sorted((folder / "runs").glob(f"planted-units-n{neuron}-*")):
            config = RunStore.open(run_dir).manifest().config
            banned = engine.history(run_dir).banned
            if (config.control != "generator") == control and bool(banned) == (kind == "mono"):
                found[kind] = run_dir
    return found if len(found) == 3 else None


def pristine_runs(factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The fixture runs of this session (built on first use; never modify them: copy).

    Set ``LINE_TEST_DASHBOARD_RUNS`` to a folder to keep them between sessions while working
    on the dashboard (delete the folder after changing the loop).
    """
    if not _BUILT:
        keep = os.environ.get("LINE_TEST_DASHBOARD_RUNS")
        if keep and Path(keep, "runs").is_dir() and _reuse(Path(keep)):
            _BUILT.update(_reuse(Path(keep)) or {})
        else:
            root = Path(keep) if keep else factory.mktemp("dashboard_fixture_runs")
            if keep:
                shutil.rmtree(root, ignore_errors=True)
            _BUILT.update(build_runs(root))
    return dict(_BUILT)


def copy_runs(pristine: dict[str, Path], runs: Path) -> dict[str, Path]:
    """Copy the fixture runs into ``runs`` (a test's own runs folder); their new folders."""
    runs.mkdir(parents=True, exist_ok=True)
    out = {}
    for kind, run_dir in pristine.items():
        out[kind] = runs / run_dir.name
        shutil.copytree(run_dir, out[kind])
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    return pristine_runs(tmp_path_factory)


@pytest.mark.slow
def test_fixture_runs_are_finished_and_steered(built):
    mono = engine.history(built["mono"])
    assert mono.status == "finished" and mono.iterations_done == ITERATIONS + 2
    assert mono.is_banned("red") and mono.label and mono.label != "red"
    assert any(r.concept == "red" and r.iteration == 0 for r in mono.records)
    assert [r.concept for r in mono.records if r.source == Source.USER] == ["pink flowers"]
    classes = engine.history(built["classes"])
    initial = {r.source for r in classes.records if r.iteration == 0}
    assert initial == {Source.CONTROL_CLASS, Source.RANDOM_CLASS}
    baseline = classes.baseline()
    assert baseline is not None and baseline.n == min(5, len(CLASSES) - 5)
    assert engine.history(built["or"]).status == "finished"
