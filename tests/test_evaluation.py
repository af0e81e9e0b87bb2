"""CoSy evaluation: label sources, method statistics, and the engine on the planted model."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from line_core import scoring
from line_core.config import ExplainConfig
from line_core.engine import choices
from line_core.engine.evaluate import drawable, evaluate, evaluation_seeds
from line_core.errors import ConfigError
from line_core.evaluation import labels as label_io
from line_core.evaluation.labels import LayerSpec, detect_format, read_source, read_sources
from line_core.evaluation.output import MANIFEST_NAME, RESULT_FILES, check_folder, write_folder
from line_core.evaluation.stats import (
    NOT_TESTABLE,
    PAIRED_T,
    WILCOXON,
    bootstrap_mean_interval,
    holm,
    method_summaries,
    paired_test,
    paired_tests,
    summarise,
)
from line_core.generators.procedural import ProceduralGenerator
from line_core.probe import layer_activations
from line_core.targets.planted_units import planted_unit

PEERS = Path(__file__).resolve().parents[2] / "shared" / "data" / "peer-labels"
PLANTED = LayerSpec({"planted"}, "units", 14, ("colour", "texture", "unit_maps", "units"))
RESNET_L4 = LayerSpec({"resnet18"}, "layer4", 512)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def peer(method: str, name: str) -> Path:
    path = PEERS / method / name
    if not path.exists():
        pytest.skip(f"peer labels not found at {path} (../shared/data/peer-labels/)")
    return path


# -- label sources: peer formats --------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "kind"),
    [("CLIP-Dissect", "layer-unit-description"), ("MILAN", "layer-unit-description"),
     ("INVERT", "neuron-concept"), ("FALCON", "falcon")],
)
def test_real_peer_files_are_detected_and_read(method, kind):
    path = peer(method, "resnet18-layer4.csv")
    header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert detect_format(header) == kind
    (label_set,) = read_source(str(path), RESNET_L4)
    assert label_set.method == method and label_set.kind == kind
    assert len(label_set.labels) == (50 if method == "FALCON" else 512)
    assert all(0 <= u < 512 and text.strip() for u, text in label_set.labels.items())


def test_real_peer_labels_are_the_published_text():
    labels = {m: read_source(str(peer(m, "resnet18-layer4.csv")), RESNET_L4)[0].labels
              for m in ("CLIP-Dissect", "MILAN", "INVERT", "FALCON")}
    assert labels["CLIP-Dissect"][1] == "bookshop, bookstore, bookstall"
    assert labels["MILAN"][0] == "Faces of dogs"
    assert labels["INVERT"][3] == "great white shark"
    assert labels["FALCON"][6] == "wessex tubas"  # the top noun phrase, as CoSy reads FALCON


def test_real_vit_file_says_its_layer_is_subset():
    with pytest.raises(ConfigError, match="subset"):
        read_source(str(peer("CLIP-Dissect", "vit_b_16-features.csv")),
                    LayerSpec({"vit_b_16"}, "features", 768))


def test_small_files_in_each_format(tmp_path):
    clip = write(tmp_path / "CLIP-Dissect" / "p.csv",
                 "layer,unit,description,similarity\nunits,0,red,0.3\nunits,5,\"stripes, "
                 "horizontal\",0.2\ncolour,1,green,0.1\n")
    milan = write(tmp_path / "MILAN" / "p.csv", "layer,unit,description\nunits,2,Blue things\n")
    invert = write(tmp_path / "INVERT" / "p.csv",
                   "neuron,concept,concept_id,metric\n3,yellow,n1,0.9\n4,,n2,0.1\n")
    falcon = write(
        tmp_path / "FALCON" / "p.csv",
        "group,Unnamed: 0,concept_set_words,concept_set_noun_phrases\n"
        "8,8,\"[('check', 0.2)]\",\"[('low res', 0.1), ('black checkerboard', 0.3)]\"\n"
        "\"9,13\",9,\"[('dots', 0.5)]\",[]\n",
    )
    sets = read_sources([str(clip), str(milan), str(invert), str(falcon)], PLANTED)
    by_method = {s.method: s for s in sets}
    assert by_method["CLIP-Dissect"].labels == {0: "red", 5: "stripes, horizontal"}
    assert any("other layers" in n for n in by_method["CLIP-Dissect"].notes)
    assert by_method["MILAN"].labels == {2: "Blue things"}
    assert by_method["INVERT"].labels == {3: "yellow"}  # the blank label is left out, noted
    assert by_method["INVERT"].layer is None and by_method["INVERT"].notes
    # the highest-scoring phrase, not the first; no phrase -> the top word; a group -> each unit
    assert by_method["FALCON"].labels == {8: "black checkerboard", 9: "dots", 13: "dots"}


def test_named_sources_and_clashing_names(tmp_path):
    a = write(tmp_path / "labels" / "a.csv", "neuron,concept\n0,red\n")
    b = write(tmp_path / "labels" / "b.csv", "neuron,concept\n1,green\n")
    sets = read_sources([f"mine={a}", str(b)], PLANTED)
    assert [s.method for s in sets] == ["mine", "labels"]
    with pytest.raises(ConfigError, match="NAME=path"):
        read_sources([str(a), str(b)], PLANTED)


@pytest.mark.parametrize(
    ("name", "text", "words"),
    [
        ("empty.csv", "", ["is empty", "layer,unit,description"]),
        ("blank.csv", "\n\n", ["is empty"]),
        ("header.csv", "layer,unit,description\n", ["no rows"]),
        ("unknown.csv", "a,b,c\n1,2,3\n", ["fits no known label format", "neuron,concept"]),
        ("layer.csv", "layer,unit,description\nlayer4,0,dog\n", ["layer4", "'units'"]),
        ("range.csv", "neuron,concept\n0,red\n14,blue\n-1,x\n", ["out of range", "0..13"]),
        ("unit.csv", "neuron,concept\n2.5,red\n", ["line 2", "whole number"]),
        ("twice.csv", "neuron,concept\n0,red\n0,blue\n", ["two labels"]),
        ("falcon.csv", "group,concept_set_noun_phrases\n1,[('a'\n", ["line 2", "pairs"]),
        ("planted-colour.csv", "neuron,concept\n0,red\n", ["file name", "colour"]),
    ],
)
def test_bad_label_files_are_one_clear_line(tmp_path, name, text, words):
    path = write(tmp_path / name, text)
    with pytest.raises(ConfigError) as info:
        read_sources([str(path)], PLANTED)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    for word in words:
        assert word in message


def test_binary_and_missing_sources(tmp_path):
    binary = tmp_path / "x.csv"
    binary.write_bytes(b"\x89PNG\x00\xff\xfe\x00")
    with pytest.raises(ConfigError, match="UTF-8"):
        read_sources([str(binary)], PLANTED)
    with pytest.raises(ConfigError, match="does not exist"):
        read_sources([str(tmp_path / "nope.csv")], PLANTED)
    with pytest.raises(ConfigError, match="no LINE run"):
        read_sources([str(tmp_path)], PLANTED)
    with pytest.raises(ConfigError, match="no label source"):
        read_sources([], PLANTED)


# -- label sources: our runs (real runs of the loop; slow: the shared session fixture) ---------
@pytest.mark.slow
def test_run_folder_and_folder_of_runs(planted_runs, tmp_path):
    from line_core.record import load_history

    mono = planted_runs["mono"]
    (one,) = read_source(str(mono), PLANTED)
    assert one.method == "LINE (scripted)" and one.kind == "run"
    assert one.labels == {0: load_history(mono).best().concept}
    folder = tmp_path / "runs"
    for kind, run in planted_runs.items():
        shutil.copytree(run, folder / kind / run.name)
    (both,) = read_source(f"ours={folder}", PLANTED)
    assert both.method == "ours" and set(both.labels) == {0, 12}
    with pytest.raises(ConfigError, match="not planted layer 'colour'|explains"):
        read_source(str(mono), LayerSpec({"planted"}, "colour", 9))
    with pytest.raises(ConfigError, match="none of other"):
        read_source(str(folder), LayerSpec({"other"}, "units", 14))


@pytest.mark.slow
def test_folder_of_runs_takes_the_latest_run_per_unit_with_bans(planted_runs, tmp_path):
    from line_core.record import RunStore, load_history
    from line_core.record.events import UserAction

    old = shutil.copytree(planted_runs["mono"], tmp_path / "runs" / "old")
    new = shutil.copytree(planted_runs["mono"], tmp_path / "runs" / "new")
    store = RunStore.open(new)
    manifest = store.manifest()
    manifest.created = "2099-01-01T00:00:00+0000"
    store.write_manifest(manifest)
    best = load_history(old).best().concept
    with store.writer():
        store.append(UserAction(iteration=99, action="ban", concept=best))
    (latest,) = read_source(str(tmp_path / "runs"), PLANTED)
    assert latest.labels[0] == load_history(new).best().concept != best


# -- statistics -------------------------------------------------------------------------------
def test_holm_on_known_p_values():
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.6]) == [1.0, 1.0]
    assert holm([0.02]) == [0.02]
    assert holm([]) == []


def test_paired_t_test_by_hand():
    a, b = [1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 1.0, 1.0]  # differences 1, 2, 2, 3
    result = paired_test(a, b)
    assert result.test == PAIRED_T and result.n == 4 and result.difference == pytest.approx(2.0)
    assert result.statistic == pytest.approx(2.0 / (math.sqrt(2.0 / 3.0) / 2.0))  # mean/(sd/√n)
    assert result.p == pytest.approx(2 * stats.t.sf(4.898979485566356, df=3))


def test_wilcoxon_by_hand():
    a = [1.0, 2.0, 3.0, 4.0, 100.0, 200.0]  # skewed differences: Shapiro-Wilk rejects normality
    result = paired_test(a, [0.0] * 6)
    assert result.normality_p is not None and result.normality_p <= 0.05
    assert result.test == WILCOXON
    assert result.statistic == 0.0  # every difference positive: W- = 0
    assert result.p == pytest.approx(2 / 2**6)  # exact: only all-positive signs are as extreme


def test_wilcoxon_leaves_zero_differences_out_by_hand():
    diff = [0.0] * 8 + [0.1, 0.2, 0.3, -0.05]  # shared labels give zero differences
    result = paired_test(diff, [0.0] * 12)
    assert result.test == WILCOXON and result.n == 12 and "8 zero" in result.note
    assert result.statistic == 1.0  # W- = rank 1 (the smallest |d| is the negative one)
    assert result.p == pytest.approx(2 * 2 / 2**4)  # exact, n = 4: P(W- <= 1) = 2/16, twice


@pytest.mark.parametrize("seed", range(6))
def test_paired_test_matches_scipy_on_random_inputs(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 40))
    a = rng.normal(size=n)
    b = a + (rng.normal(0.3, 1, n) if seed % 2 else rng.exponential(1, n) ** 3)
    result = paired_test(a, b)
    normal = stats.shapiro(a - b).pvalue
    assert result.normality_p == pytest.approx(normal)
    expected = stats.ttest_rel(a, b) if normal > 0.05 else stats.wilcoxon(a, b)
    assert result.test == (PAIRED_T if normal > 0.05 else WILCOXON)
    assert result.p == pytest.approx(expected.pvalue)
    assert result.statistic == pytest.approx(expected.statistic)


def test_degenerate_pairs_are_not_testable_and_never_nan():
    few = paired_test([0.9, 0.8], [0.5, 0.4])
    same = paired_test([0.7, 0.8, 0.9], [0.7, 0.8, 0.9])
    assert few.test == same.test == NOT_TESTABLE and few.p is None and same.p is None
    assert "at least 3" in few.note and "identical" in same.note
    constant = paired_test([1.0, 2.0, 3.0], [0.5, 1.5, 2.5])  # every difference 0.5: no spread
    assert constant.test == WILCOXON and 0 < constant.p <= 1
    for test in (few, same, constant):
        json.dumps(test.to_dict(), allow_nan=False)


def test_summaries_and_bootstrap_intervals():
    values = np.random.default_rng(3).uniform(size=25)
    low, high = bootstrap_mean_interval(values, seed=7)
    assert (low, high) == bootstrap_mean_interval(values, seed=7)  # seeded
    assert low < values.mean() < high
    assert bootstrap_mean_interval([0.6] * 4) == (0.6, 0.6)
    summary = summarise("m", values, values * 2)
    assert summary.sd_auc == pytest.approx(np.std(values, ddof=1))
    assert summary.mean_mad == pytest.approx(2 * values.mean())
    assert summarise("one", [0.7], [1.0]).sd_auc == 0.0


def test_paired_tests_holm_across_pairs_only_testable_ones():
    rng = np.random.default_rng(0)
    rows = []
    for method, shift, units in (("A", 0.0, range(10)), ("B", 0.2, range(10)),
                                 ("C", 0.1, range(2))):
        for unit in units:
            rows.append({"method": method, "unit": unit, "auc": rng.uniform() + shift,
                         "mad": rng.normal() + shift})
    frame = pd.DataFrame(rows)
    tests = paired_tests(frame)
    assert len(tests) == 6 and {t.metric for t in tests} == {"auc", "mad"}
    for metric in ("auc", "mad"):
        ours = [t for t in tests if t.metric == metric]
        ab = next(t for t in ours if (t.method_a, t.method_b) == ("A", "B"))
        with_c = [t for t in ours if "C" in (t.method_a, t.method_b)]
        assert all(t.test == NOT_TESTABLE and t.p_holm is None for t in with_c)
        assert ab.p_holm == pytest.approx(ab.p)  # the only testable pair of the metric
    assert [s.method for s in method_summaries(frame)] == ["A", "B", "C"]


# -- output folder ----------------------------------------------------------------------------
def test_output_folder_refuses_another_evaluation(tmp_path):
    out = tmp_path / "eval"
    identity = {"model": "planted", "layer": "units", "n_images": 5}
    check_folder(out, identity)  # absent: fine
    write_folder(out, {"results.csv": b"x\n", MANIFEST_NAME: json.dumps(
        {"identity": identity}).encode()})
    check_folder(out, identity)  # the same evaluation again: fine
    with pytest.raises(ConfigError, match="different evaluation"):
        check_folder(out, {**identity, "n_images": 6})
    check_folder(out, {**identity, "n_images": 6}, force=True)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not an evaluation folder"):
        check_folder(tmp_path / "other", identity)
    with pytest.raises(ConfigError, match="is a file"):
        check_folder(tmp_path / "other" / "notes.txt", identity)
    write_folder(tmp_path / "other", {"results.csv": b"y\n"})
    assert (tmp_path / "other" / "notes.txt").read_text() == "mine"  # not ours: untouched
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left


# -- the engine on the planted model ------------------------------------------------------------
class CountingGenerator(ProceduralGenerator):
    """The real procedural renderer, counting its calls."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, list[int]]] = []

    def generate(self, concept, seeds):
        self.calls.append((concept, list(seeds)))
        return super().generate(concept, seeds)


N_IMAGES = 6
#: unit -> label: right ones on units 0, 1, 5, 8; wrong ones on 2 ("purple") and 9 ("tench").
METHOD_A = {0: "red", 1: "green", 2: "purple", 5: "horizontal stripes", 8: "checkerboard",
            9: "tench"}
#: shares "Red" (same concept as "red"), "green" and "checkerboard" with A; wrong on unit 5.
METHOD_B = {0: "Red", 1: "green", 2: "blue", 5: "vertical stripes", 8: "checkerboard",
            9: "polka dots"}


def label_csvs(root: Path, a: dict[int, str], b: dict[int, str]) -> tuple[Path, Path]:
    """Two methods' labels of the planted units: CLIP-Dissect's format and INVERT's."""
    return (
        write(root / "CLIP-Dissect" / "planted-units.csv", "layer,unit,description\n" + "".join(
            f"units,{u},{label}\n" for u, label in a.items())),
        write(root / "INVERT" / "planted-units.csv", "neuron,concept\n" + "".join(
            f"{u},{label}\n" for u, label in b.items())),
    )  # fmt: skip


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    root = tmp_path_factory.mktemp("evaluate")
    a, b = label_csvs(root, METHOD_A, METHOD_B)
    generator = CountingGenerator()
    target = choices.target("planted")
    result = evaluate("planted", "units", [str(a), str(b)], n_images=N_IMAGES,
                      out_dir=root / "out", target=target, image_generator=generator)
    return result, generator, target


def test_each_unique_label_is_rendered_once(evaluated):
    result, generator, _ = evaluated
    label_calls = [(c, s) for c, s in generator.calls if s == evaluation_seeds(c, 42, N_IMAGES)]
    rendered = sorted(c for c, _ in label_calls)
    assert rendered == sorted({"Red", "green", "purple", "horizontal stripes", "checkerboard",
                               "tench", "blue", "vertical stripes", "polka dots"})
    assert result.manifest["labels_rendered"] == 9
    shared = result.results[result.results["unit"].isin([0, 1, 8])]
    for _, pair in shared.groupby("unit"):
        assert pair["auc"].nunique() == 1 and pair["mad"].nunique() == 1


def test_right_labels_score_high_and_wrong_ones_near_chance(evaluated):
    result, _, _ = evaluated
    for row in result.results.itertuples():
        right = planted_unit(int(row.unit)).matches(row.label)
        if right:
            assert row.auc >= 0.9 and row.mad > 1, row
        else:
            assert row.auc <= 0.7, row
    summary = {s.method: s for s in result.summaries}
    assert summary["CLIP-Dissect"].neurons == summary["INVERT"].neurons == 6


def test_scores_are_the_scoring_functions_on_the_same_activations(evaluated):
    result, _, target = evaluated
    config = ExplainConfig(model="planted", layer="units")
    control = choices.control_set(config, target, "units", ProceduralGenerator())
    row = result.results[(result.results["method"] == "INVERT")
                         & (result.results["unit"] == 5)].iloc[0]
    images = ProceduralGenerator().generate(row["rendered_as"],
                                            evaluation_seeds(row["rendered_as"], 42, N_IMAGES))
    concept = layer_activations(target, "units", images)[:, 5]
    neg = control.unit(5)
    assert row["auc"] == pytest.approx(scoring.auc(concept, neg))
    assert row["mad"] == pytest.approx(scoring.mad(concept, neg))
    assert row["u_statistic"] == pytest.approx(scoring.u_statistic(concept, neg))
    assert row["p_value"] == pytest.approx(scoring.mann_whitney_p(concept, neg))
    assert row["n_images"] == N_IMAGES and row["n_control"] == len(neg)


def test_undrawable_labels_are_flagged_not_fatal(evaluated):
    result, generator, _ = evaluated
    tench = result.results[result.results["label"] == "tench"].iloc[0]
    assert not tench["drawable"] and tench["unrendered"] == "tench"
    assert result.results[result.results["label"] != "tench"]["drawable"].all()
    assert any("tench" in w and "draw" in w for w in result.warnings)
    assert drawable(generator, "red fish") == (True, ["fish"])
    assert drawable(generator, "a photo of the") == (False, [])


def test_files_and_json(evaluated):
    result, _, _ = evaluated
    out = result.out_dir
    assert sorted(p.name for p in out.iterdir()) == sorted(RESULT_FILES)
    csv = pd.read_csv(out / "results.csv")
    assert list(csv.columns[:11]) == ["method", "control", "layer", "unit", "label", "auc",
                                      "mad", "u_statistic", "p_value", "n_images", "n_control"]
    assert len(csv) == 12 and set(csv["control"]) == {"generator"} and not csv["collapsed"].any()
    parquet = pd.read_parquet(out / "results.parquet")
    assert parquet["auc"].tolist() == pytest.approx(csv["auc"].tolist())
    manifest = json.loads((out / MANIFEST_NAME).read_text())
    assert manifest["identity"]["n_images"] == N_IMAGES and len(manifest["sources"]) == 2
    assert manifest["seed_namespace"] == "evaluate" and "torch" in manifest["packages"]
    assert "\\begin{tabular}" in (out / "comparison.tex").read_text()
    tests = pd.read_csv(out / "tests.csv")
    assert set(tests["metric"]) == {"auc", "mad"}
    data = json.loads(json.dumps(result.to_json(), allow_nan=False))
    assert [m["name"] for m in data["methods"]] == ["CLIP-Dissect", "INVERT"]
    assert {"method_a", "method_b", "test", "p", "p_holm", "n"} <= set(data["tests"][0])


def test_bad_input_is_refused_before_any_rendering(tmp_path):
    generator = CountingGenerator()
    good = write(tmp_path / "m" / "l.csv", "neuron,concept\n0,red\n")
    other = tmp_path / "taken"
    other.mkdir()
    (other / "keep.txt").write_text("precious")
    cases = [
        (dict(sources=[str(good)], out_dir=other), "not an evaluation folder"),
        (dict(sources=[str(write(tmp_path / "e.csv", ""))]), "is empty"),
        (dict(sources=[str(good)], n_images=1), "--images"),
        (dict(sources=[str(good)], n_images=1001), "--images"),
    ]
    for kwargs, words in cases:
        kwargs.setdefault("out_dir", tmp_path / "out")
        with pytest.raises(ConfigError, match=words):
            evaluate("planted", "units", image_generator=generator, **kwargs)
    assert generator.calls == [] and not (tmp_path / "out").exists()
    assert (other / "keep.txt").read_text() == "precious"


def test_seeds_are_their_own_namespace():
    from line_core.concepts import concept_seeds

    ours = evaluation_seeds("red stripes", 42, 50)
    assert len(set(ours)) == 50 and not set(ours) & set(concept_seeds("red stripes", 42, 50))
    assert evaluation_seeds("Red  Stripes", 42, 3) == ours[:3]  # seed_key: case and spaces


def test_label_io_exports_the_one_split():
    assert label_io.split_source("CLIP=/x/y.csv") == ("CLIP", Path("/x/y.csv"))
    assert label_io.split_source("/a/b=c.csv")[0] is None
