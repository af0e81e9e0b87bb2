"""Both control regimes in one evaluation: generator-matched and natural images, and collapses.

The natural folder of the engine tests is constructed so that both sides of the collapse rule
show up on the planted model: blurred photo crops (no texture: every render has more pattern
energy than any of them) and flat red images (as red as a colour unit can see).

* "tench" on unit 13 (green OR checkerboard): the renderer's filler texture is as far from a
  checkerboard as neutral renders are (near chance against them) yet beats every smooth photo:
  it collapses.
* "red" on unit 0: strong against the neutral renders, but half the natural images are as red
  as a render can be (ties count half: AUC at most 0.75 against them): the converse (strong on
  renders, not on photos), not flagged.
* "checkerboard" on unit 8: strong against both: not flagged.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageFilter
from test_evaluation import CountingGenerator, label_csvs, write

from line_core import control, scoring
from line_core.config import ExplainConfig
from line_core.engine import choices
from line_core.engine.evaluate import evaluate, evaluation_seeds
from line_core.errors import ConfigError
from line_core.evaluation.output import read_folder
from line_core.evaluation.regimes import (
    COLLAPSE_GENERATOR_MAX_AUC,
    COLLAPSE_NATURAL_MIN_AUC,
    collapsed_table,
    flag_collapsed,
    is_collapsed,
)
from line_core.evaluation.stats import method_summaries, paired_tests
from line_core.generators.procedural import ProceduralGenerator
from line_core.probe import layer_activations

N_IMAGES = 6
METHOD_A = {0: "red", 1: "green", 8: "checkerboard", 13: "tench"}
METHOD_B = {0: "Red", 1: "blue", 8: "polka dots", 13: "tench"}


# -- the rule on hand-made numbers --------------------------------------------------------------
def test_collapse_rule_by_hand():
    assert is_collapsed(0.95, 0.50)  # strong on photos, chance on renders
    assert not is_collapsed(0.50, 0.95)  # the converse
    assert is_collapsed(COLLAPSE_NATURAL_MIN_AUC, COLLAPSE_GENERATOR_MAX_AUC)  # bounds count
    assert not is_collapsed(0.79, 0.40) and not is_collapsed(0.99, 0.61)
    assert is_collapsed(0.9, 0.2)  # below chance on renders: collapsed all the more


def frame(rows: list[tuple[str, str, int, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["method", "control", "unit", "label", "auc"])


def test_flags_on_a_constructed_results_frame():
    results = frame([
        ("A", "generator", 0, "tench", 0.52), ("A", "natural", 0, "tench", 0.97),
        ("A", "generator", 1, "red", 0.97), ("A", "natural", 1, "red", 0.52),
        ("B", "generator", 0, "wood", 0.55), ("B", "natural", 0, "wood", 0.81),
        ("B", "generator", 1, "sky", 0.50),  # scored under one regime only: cannot collapse
    ])  # fmt: skip
    flags = flag_collapsed(results)
    assert flags.tolist() == [True, True, False, False, True, True, False]
    table = collapsed_table(results)
    assert table[["method", "unit", "label"]].values.tolist() == [
        ["A", 0, "tench"],
        ["B", 0, "wood"],
    ]
    assert table["auc_natural"].tolist() == [0.97, 0.81]
    assert table["auc_generator"].tolist() == [0.52, 0.55]
    single = results[results["control"] == "generator"]
    assert not flag_collapsed(single).any() and collapsed_table(single).empty


# -- the photo folder ---------------------------------------------------------------------------
def test_natural_photo_folder_is_deterministic(tmp_path):
    first = control.write_photo_crops(tmp_path / "a", count=12, size=64)
    again = control.write_photo_crops(tmp_path / "b", count=12, size=64)
    other = control.write_photo_crops(tmp_path / "c", count=12, size=64, seed=1)
    names = sorted(p.name for p in first.iterdir())
    assert names == [f"photo_{i:03d}.png" for i in range(12)]
    assert all((first / n).read_bytes() == (again / n).read_bytes() for n in names)
    assert any((first / n).read_bytes() != (other / n).read_bytes() for n in names)
    with Image.open(first / names[0]) as image:
        assert image.size == (64, 64) and image.mode == "RGB"
    assert len(control.packaged_photos()) >= 12  # skimage's photos and sklearn's two
    assert "stand-in" in control.write_photo_crops.__doc__


# -- the engine on the planted model ------------------------------------------------------------
def natural_folder(root) -> str:
    """Blurred photo crops (no texture) and flat red images: see the module docstring."""
    folder = root / "natural"
    folder.mkdir()
    for index, crop in enumerate(control.photo_crops(16, 128)):
        crop.filter(ImageFilter.GaussianBlur(6)).save(folder / f"smooth_{index:02d}.png")
    for index in range(16):
        flat = Image.new("RGB", (128, 128), (200 + 3 * index, 15, 25))
        flat.save(folder / f"red_{index:02d}.png")
    return str(folder)


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    root = tmp_path_factory.mktemp("regimes")
    a, b = label_csvs(root, METHOD_A, METHOD_B)
    generator = CountingGenerator()
    target = choices.target("planted")
    natural = natural_folder(root)
    progress: list[tuple[int, int]] = []
    result = evaluate(
        "planted",
        "units",
        [str(a), str(b)],
        n_images=N_IMAGES,
        out_dir=root / "out",
        natural_control=natural,
        target=target,
        image_generator=generator,
        on_progress=lambda *p: progress.append(p),
    )
    return result, generator, target, natural, progress


def rows(result, method: str, unit: int) -> pd.DataFrame:
    table = result.results
    return table[(table["method"] == method) & (table["unit"] == unit)].set_index("control")


def test_each_label_is_rendered_once_for_both_regimes(both):
    result, generator, _, _, progress = both
    label_calls = [c for c, s in generator.calls if s == evaluation_seeds(c, 42, N_IMAGES)]
    assert sorted(label_calls) == sorted(
        {"Red", "green", "checkerboard", "tench", "blue", "polka dots"}
    )
    assert progress[-1] == (6, 6)
    assert len(result.results) == 2 * 8
    assert result.results["control"].tolist() == ["generator"] * 8 + ["natural"] * 8
    assert result.manifest["regimes"] == ["generator", "natural"]


def test_scores_under_each_regime_are_score_activations_against_its_control(both):
    result, _, target, natural, _ = both
    config = ExplainConfig(model="planted", layer="units")
    controls = {
        "generator": choices.control_set(config, target, "units", ProceduralGenerator()),
        "natural": choices.control_set(
            ExplainConfig(model="planted", layer="units", control=natural),
            target,
            "units",
            ProceduralGenerator(),
        ),
    }
    assert controls["natural"].activations.shape[0] == 32
    for method, unit in (("INVERT", 1), ("CLIP-Dissect", 13)):
        pair = rows(result, method, unit)
        text = pair["rendered_as"].iloc[0]
        images = ProceduralGenerator().generate(text, evaluation_seeds(text, 42, N_IMAGES))
        concept = layer_activations(target, "units", images)[:, unit]
        for regime, control_set in controls.items():
            expected = scoring.score_activations(concept, control_set.unit(unit), seed=42)
            row = pair.loc[regime]
            for field in (
                "auc",
                "mad",
                "u_statistic",
                "p_value",
                "auc_low",
                "auc_high",
                "mean_activation",
            ):
                assert row[field] == pytest.approx(getattr(expected, field)), (regime, field)
            assert row["n_control"] == len(control_set.unit(unit))


def test_collapse_fires_on_the_constructed_case_and_not_on_its_converse(both):
    result, _, _, _, _ = both
    for method in ("CLIP-Dissect", "INVERT"):
        tench = rows(result, method, 13)
        assert tench.loc["natural", "auc"] >= 0.8 and tench.loc["generator", "auc"] <= 0.6
        assert tench["collapsed"].all()
        red = rows(result, method, 0)  # the converse: strong on renders, not on photos
        assert red.loc["generator", "auc"] >= 0.9 and red.loc["natural", "auc"] <= 0.75
        assert not red["collapsed"].any()
    checkerboard = rows(result, "CLIP-Dissect", 8)
    assert (checkerboard["auc"] >= 0.9).all() and not checkerboard["collapsed"].any()
    for row in result.collapsed().itertuples():  # every flag is the rule on the two AUCs
        assert is_collapsed(row.auc_natural, row.auc_generator)
    flagged = {(r.method, r.unit) for r in result.collapsed().itertuples()}
    assert {("CLIP-Dissect", 13), ("INVERT", 13)} <= flagged
    assert ("CLIP-Dissect", 0) not in flagged and ("INVERT", 0) not in flagged
    [warning] = [w for w in result.warnings if "collapse" in w]
    assert "'tench'" in warning and "looks generated" in warning
    assert result.manifest["collapse"]["flagged"] == len(flagged)


def test_summaries_and_tests_per_regime(both):
    result, _, _, _, _ = both
    assert [r.control for r in result.regimes] == ["generator", "natural"]
    for report in result.regimes:
        part = result.results[result.results["control"] == report.control]
        assert report.summaries == method_summaries(part, seed=42)
        assert report.tests == paired_tests(part)
    assert result.summaries == result.regime("generator").summaries
    comparison = result.comparison()
    assert comparison[["control", "method"]].values.tolist() == [
        ["generator", "CLIP-Dissect"], ["generator", "INVERT"],
        ["natural", "CLIP-Dissect"], ["natural", "INVERT"]]  # fmt: skip
    tests = result.tests_frame()
    assert tests.groupby("control").size().to_dict() == {"generator": 2, "natural": 2}


def test_files_json_and_text_show_both_regimes(both):
    result, _, _, natural, _ = both
    data = json.loads(json.dumps(result.to_json(), allow_nan=False))
    assert data["controls"] == ["generator", "natural"] and data["natural_control"] == natural
    assert [(m["name"], m["control"]) for m in data["methods"]] == [
        ("CLIP-Dissect", "generator"), ("INVERT", "generator"),
        ("CLIP-Dissect", "natural"), ("INVERT", "natural")]  # fmt: skip
    assert {t["control"] for t in data["tests"]} == {"generator", "natural"}
    assert {(c["method"], c["unit"], c["label"]) for c in data["collapsed"]} >= {
        ("CLIP-Dissect", 13, "tench"),
        ("INVERT", 13, "tench"),
    }
    text = result.text()
    assert "control: generator-matched control" in text and "control: natural images" in text
    assert "unit 13 'tench'" in text
    out = result.out_dir
    assert "natural images" in (out / "comparison.tex").read_text()
    assert "Control" in (out / "tests.tex").read_text()
    stored = read_folder(out)
    assert stored.controls == ["generator", "natural"]
    assert stored.methods == ["CLIP-Dissect", "INVERT"]
    assert stored.results["collapsed"].tolist() == result.results["collapsed"].tolist()
    assert stored.results["auc"].tolist() == pytest.approx(result.results["auc"].tolist())
    assert (
        set(stored.comparison["control"])
        == set(stored.tests["control"])
        == {"generator", "natural"}
    )
    assert stored.manifest["natural_control"]["size"] == 32


def test_an_older_single_regime_folder_reads_back(tmp_path):
    folder = tmp_path / "old"
    folder.mkdir()
    (folder / "evaluation.json").write_text(json.dumps({"control": {"spec": "generator"}}))
    pd.DataFrame({"method": ["A"], "unit": [0], "auc": [0.9]}).to_csv(
        folder / "results.csv", index=False
    )
    pd.DataFrame({"method": ["A"]}).to_csv(folder / "comparison.csv", index=False)
    pd.DataFrame({"metric": []}).to_csv(folder / "tests.csv", index=False)
    stored = read_folder(folder)
    assert stored.controls == ["generator"] and not stored.results["collapsed"].any()
    assert stored.comparison["control"].tolist() == ["generator"]
    with pytest.raises(ConfigError, match="not an evaluation folder"):
        read_folder(tmp_path)


def unreadable_folder(root) -> str:
    folder = root / "broken"
    folder.mkdir()
    for index in range(12):
        (folder / f"img_{index}.png").write_bytes(b"not a png at all")
    return str(folder)


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("missing", ["--natural-control", "does not exist"]),
        ("empty", ["--natural-control", "0 readable images"]),
        ("unreadable", ["--natural-control", "0 readable images", "12 skipped"]),
        ("generator", ["--natural-control", "folder of natural images"]),
    ],
)
def test_bad_natural_folder_is_one_line_and_writes_nothing(tmp_path, kind, words):
    folders = {
        "missing": str(tmp_path / "nope"),
        "generator": "generator",
        "empty": str(tmp_path / "empty"),
        "unreadable": unreadable_folder(tmp_path),
    }
    (tmp_path / "empty").mkdir()
    good = write(tmp_path / "m" / "l.csv", "neuron,concept\n0,red\n")
    generator = CountingGenerator()
    with pytest.raises(ConfigError) as error:
        evaluate(
            "planted",
            "units",
            [str(good)],
            n_images=3,
            out_dir=tmp_path / "out",
            natural_control=folders[kind],
            image_generator=generator,
        )
    message = str(error.value)
    assert "\n" not in message and all(w in message for w in words), message
    assert not (tmp_path / "out").exists()
    assert not [c for c in generator.calls if c[1] == evaluation_seeds(c[0], 42, 3)]


def test_a_folder_control_and_a_natural_control_together_are_refused(tmp_path):
    good = write(tmp_path / "m" / "l.csv", "neuron,concept\n0,red\n")
    folder = control.write_photo_crops(tmp_path / "photos", count=12, size=32)
    with pytest.raises(ConfigError, match="pass the folder once"):
        evaluate(
            "planted",
            "units",
            [str(good)],
            n_images=3,
            out_dir=tmp_path / "out",
            control=str(folder),
            natural_control=str(folder),
        )
    assert not (tmp_path / "out").exists()


def test_flags_are_numpy_bools_in_parquet(both):
    result, _, _, _, _ = both
    stored = pd.read_parquet(result.out_dir / "results.parquet")
    assert stored["collapsed"].dtype == np.bool_
