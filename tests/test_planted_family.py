"""Planted families drawn from a seed: the draw, the ground truth (real renders, real forward),
the registered spec, and the original planted model left unchanged."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from line_core.errors import ConfigError
from line_core.generators.procedural import ProceduralGenerator
from line_core.generators.procedural.catalogue import control_prompts
from line_core.probe import layer_activations, multi_layer_activations
from line_core.targets import TARGETS, load_target
from line_core.targets.planted import UNIT_RECIPES, PlantedModel
from line_core.targets.planted_family import (
    ATTRIBUTE_PHRASES,
    DEVELOPMENT_SEEDS,
    HELD_OUT_SEEDS,
    KINDS,
    WEAK_MAPS,
    FamilyUnit,
    PlantedFamilyModel,
    draw_family,
    make_unit,
    related,
)
from line_core.targets.planted_features import COLOURS, PATTERNS
from line_core.targets.planted_units import PlantedUnit

#: In neither seed set; its 12 units hold every (kind, dense / sparse) pair and polka dots.
TEST_SEED = 932
RENDER_SEEDS = [0, 1]
SINGLES = [ATTRIBUTE_PHRASES[a] for a in (*COLOURS, *PATTERNS)]


def recipes(seed: int, n_units: int = 12) -> list[tuple[str, ...]]:
    return [u.recipe for u in draw_family(seed, n_units)]


# --- the draw ------------------------------------------------------------------------------


def test_same_seed_same_family_and_different_seeds_differ() -> None:
    assert draw_family(TEST_SEED) == draw_family(TEST_SEED)
    seeds = [*DEVELOPMENT_SEEDS, *HELD_OUT_SEEDS, TEST_SEED, 999]
    families = {tuple(recipes(s)) for s in seeds}
    assert len(families) == len(seeds)


def test_seed_sets_are_disjoint_and_apart_from_the_test_seed() -> None:
    assert DEVELOPMENT_SEEDS and HELD_OUT_SEEDS
    assert not set(DEVELOPMENT_SEEDS) & set(HELD_OUT_SEEDS)
    assert TEST_SEED not in {*DEVELOPMENT_SEEDS, *HELD_OUT_SEEDS}


@pytest.mark.parametrize("n_units", [1, 2, 3, 4, 5, 7, 12, 30, 64])
def test_every_family_mixes_kinds_and_is_partly_sparse(n_units: int) -> None:
    for seed in range(40):
        family = draw_family(seed, n_units)
        assert [u.index for u in family] == list(range(n_units))
        assert len({u.recipe for u in family}) == n_units  # no recipe twice
        kinds = {u.kind for u in family}
        assert kinds >= set(KINDS[: min(n_units, len(KINDS))])
        if n_units >= len(KINDS):
            assert kinds == set(KINDS)
        assert sum(u.sparse for u in family) >= math.ceil(n_units / 3)
        for unit in family:
            assert unit.truth.index == unit.index and unit.truth.kind == unit.kind
            assert unit.threshold == (0.5 if unit.sparse else 0.0)
            if unit.sparse:
                assert not WEAK_MAPS & set(unit.recipe[1:])


def test_or_parts_are_unrelated_and_and_is_colour_with_pattern() -> None:
    seen_pairs = set()
    for seed in range(60):
        for unit in draw_family(seed, 24):
            if unit.kind == "or":
                a, b = unit.recipe[1:]
                assert a != b and not related(a, b)
                seen_pairs.add(tuple(sorted((a in COLOURS, b in COLOURS))))
            if unit.kind == "and":
                assert unit.recipe[1] in COLOURS and unit.recipe[2] in PATTERNS
    assert seen_pairs == {(False, False), (False, True), (True, True)}  # all three OR sorts
    assert related("horizontal", "vertical")  # both stripes: never OR-ed
    assert not related("red", "orange") and not related("checkerboard", "dots")


def test_make_unit_refuses_malformed_recipes() -> None:
    for recipe, sparse in [
        (("or", "red", "red"), False),
        (("or", "horizontal", "diagonal"), False),
        (("and", "checkerboard", "red"), False),
        (("map", "mauve"), False),
        (("map", "dots"), True),
        (("xor", "red", "blue"), False),
    ]:
        with pytest.raises(ValueError):
            make_unit(0, recipe, sparse)


# --- ground truth: labels ---------------------------------------------------------------------


def test_matches_accepts_the_concept_and_synonyms_and_rejects_unrelated_labels() -> None:
    for unit in draw_family(TEST_SEED):
        assert unit.matches(unit.concept) and unit.matches(f"A photo of {unit.concept.upper()}")
        names = unit.recipe[1:]
        stranger = next(a for a in (*COLOURS, *PATTERNS) if not any(related(a, n) for n in names))
        assert not unit.matches(ATTRIBUTE_PHRASES[stranger])
    cases = {
        ("map", "cyan"): (["teal", "turquoise tiles", "aqua"], ["blue", "green"]),
        ("map", "orange"): (["orange", "tangerine walls"], ["red", "yellow"]),
        ("map", "white"): (["ivory", "snowy field"], ["black", "gray"]),
        ("map", "black"): (["ebony", "jet black"], ["white", "navy"]),
        ("map", "horizontal"): (["horizontally banded"], ["stripes", "horizontal"]),
        ("and", "green", "horizontal"): (
            ["emerald horizontal bands"],
            ["green", "horizontal stripes", "green vertical stripes"],
        ),
        ("or", "orange", "black"): (["orange", "black", "ebony stripes"], ["blue"]),
        ("or", "cyan", "checkerboard"): (["teal", "chessboard"], ["red squares"]),
    }
    for recipe, (accepted, rejected) in cases.items():
        unit = make_unit(0, recipe)
        assert all(unit.matches(label) for label in accepted), recipe
        assert not any(unit.matches(label) for label in rejected), recipe


# --- ground truth: activations of the real model on real renders ------------------------------


def _pattern_alone(unit: FamilyUnit) -> str:
    """An AND unit's pattern drawn in two colours other than the unit's."""
    pair = "red and blue" if unit.recipe[1] in ("black", "white") else "black and white"
    return f"{pair} {unit.parts[1]}"


@pytest.fixture(scope="module")
def measured() -> dict:
    """The real family model on real renders: ``units`` per concept [2, 12], and ``units`` and
    the dense read-out (``unit_maps`` averaged over space) on the generator's control prompts."""
    target = load_target(f"planted-family:{TEST_SEED}")
    family = target.extra["family_units"]
    concepts = list(SINGLES)
    for unit in family:
        if unit.kind == "and":
            concepts += [unit.concept, _pattern_alone(unit)]
    generator = ProceduralGenerator()
    images = [im for c in concepts for im in generator.generate(c, RENDER_SEEDS)]
    controls = control_prompts()[::3]
    images += [generator.render(prompt, 0) for prompt in controls]
    both = multi_layer_activations(target, ["units", "unit_maps"], images)
    units, dense = both["units"], both["unit_maps"]
    assert units.shape == dense.shape == (len(images), len(family))
    per = len(RENDER_SEEDS)
    acts = {c: units[i * per : (i + 1) * per] for i, c in enumerate(concepts)}
    n = len(controls)
    return {"family": family, "acts": acts, "control": units[-n:], "control_dense": dense[-n:]}


def _unrelated(unit: FamilyUnit, acts: dict[str, np.ndarray]) -> np.ndarray:
    names = unit.recipe[1:]
    keep = [a for a in (*COLOURS, *PATTERNS) if not any(related(a, n) for n in names)]
    return np.concatenate([acts[ATTRIBUTE_PHRASES[a]][:, unit.index] for a in keep])


def _units(family: list[FamilyUnit], kind: str) -> list[FamilyUnit]:
    chosen = [u for u in family if u.kind == kind]
    assert chosen
    return chosen


def test_family_of_the_test_seed_covers_every_kind_dense_and_sparse(measured) -> None:
    family = measured["family"]
    assert {(u.kind, u.sparse) for u in family} == {(k, s) for k in KINDS for s in (False, True)}


@pytest.mark.parametrize("kind", ["colour", "pattern"])
def test_single_units_prefer_their_own_concept(measured, kind: str) -> None:
    family, acts = measured["family"], measured["acts"]
    for unit in _units(family, kind):
        own = acts[unit.concept][:, unit.index].mean()
        unrelated = _unrelated(unit, acts)
        assert own >= 0.1 and own > 3 * unrelated.mean(), (unit.concept, own, unrelated.mean())


def test_sparse_units_are_exactly_zero_unless_their_attribute_is_strong(measured) -> None:
    family, acts = measured["family"], measured["acts"]
    control, dense = measured["control"], measured["control_dense"]
    sparse = [u.index for u in family if u.sparse]
    plain = [u.index for u in family if not u.sparse]
    assert len(sparse) >= 4
    # The read-out: dense units are the spatial mean, sparse ones relu(mean - 0.5) / 0.5.
    np.testing.assert_allclose(control[:, plain], dense[:, plain], atol=1e-6)
    expected = np.maximum(dense[:, sparse] - 0.5, 0.0) / 0.5
    np.testing.assert_allclose(control[:, sparse], expected, atol=1e-6)
    for unit in family:
        if unit.sparse:
            assert (_unrelated(unit, acts) == 0).mean() >= 0.75, unit.concept
            assert (control[:, unit.index] == 0).mean() >= 0.75, unit.concept
    # Weak or partial presence (a dense read-out between 0 and 0.5) gives exactly 0 ...
    partial = (dense[:, sparse] > 0.02) & (dense[:, sparse] < 0.5)
    assert partial.sum() >= 5 and (control[:, sparse][partial] == 0).all()
    # ... so sparse units are silent on many more control images than dense ones.
    assert (control[:, sparse] == 0).mean() > (control[:, plain] == 0).mean() + 0.2


def test_or_units_fire_for_each_part_alone(measured) -> None:
    family, acts = measured["family"], measured["acts"]
    for unit in _units(family, "or"):
        unrelated = _unrelated(unit, acts).mean()
        for part in unit.parts:
            alone = acts[part][:, unit.index].mean()
            assert alone >= 0.2 and alone > 3 * unrelated, (unit.concept, part, alone, unrelated)


def test_and_units_need_both_parts(measured) -> None:
    family, acts = measured["family"], measured["acts"]
    for unit in _units(family, "and"):
        both = acts[unit.concept][:, unit.index].mean()
        colour_alone = acts[unit.parts[0]][:, unit.index].mean()
        pattern_alone = acts[_pattern_alone(unit)][:, unit.index].mean()
        assert both >= 0.2, (unit.concept, both)
        assert max(colour_alone, pattern_alone) <= 0.25 * both, (unit.concept, both)


# --- the registered spec, and the planted model unchanged -------------------------------------


def test_spec_loads_a_target_like_planted() -> None:
    assert "planted-family" in TARGETS.names()
    target = load_target("planted-family:999")
    assert target.name == "planted-family:999"
    assert target.default_layer == "units" and target.input_size == 224
    truths = target.extra["planted_units"]
    assert all(isinstance(t, PlantedUnit) for t in truths)
    assert truths == [u.truth for u in draw_family(999)]
    assert load_target("planted-family:999:12").name == "planted-family:999"
    wide = load_target("planted-family:7:30")
    assert wide.name == "planted-family:7:30" and len(wide.extra["planted_units"]) == 30
    assert wide.preprocess == load_target("planted").preprocess


@pytest.mark.parametrize(
    "spec",
    [
        "planted-family",
        "planted-family:",
        "planted-family:abc",
        "planted-family:-3",
        "planted-family:1.5",
        "planted-family:5:0",
        "planted-family:5:65",
        "planted-family:5:x",
        "planted-family:1:2:3",
    ],
)
def test_bad_specs_give_one_clear_line(spec: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_target(spec)
    message = str(error.value)
    assert message and "\n" not in message and "planted-family" in message


#: ``units`` of the planted model on procedural renders (seeds 0, 1), computed before
#: PlantedUnitMaps took its recipes as an argument.
PLANTED_BEFORE = {
    "green checkerboard": [
        [0.0, 0.50163424, 0.0, 0.0, 0.0, 0.13118328, 0.13378811, 0.0, 0.65626103, 0.0, 0.0, 0.0,
         0.13378811, 0.82195812],
        [0.0, 0.49984056, 0.0, 0.0, 0.0, 0.2225278, 0.13806012, 0.0, 0.76056898, 0.0, 0.0, 0.0,
         0.13806012, 0.87588245],
    ],
    "blue polka dots": [
        [0.0, 0.0, 0.36834344, 0.0, 0.0, 0.38239026, 0.04272687, 0.02554551, 0.00019439,
         0.08282656, 0.0, 0.08282656, 0.04272687, 0.00019439],
        [0.0, 0.0, 0.25751355, 0.0, 0.0, 0.33309236, 0.03550169, 0.03171281, 0.0, 0.11557305,
         0.0, 0.11557305, 0.03550169, 0.0],
    ],
}  # fmt: skip


def test_planted_model_is_unchanged() -> None:
    target = load_target("planted")
    generator = ProceduralGenerator()
    images = [im for c in PLANTED_BEFORE for im in generator.generate(c, RENDER_SEEDS)]
    acts = layer_activations(target, "units", images)
    expected = np.concatenate([np.asarray(v, np.float32) for v in PLANTED_BEFORE.values()])
    np.testing.assert_allclose(acts, expected, atol=1e-6)
    assert target.model.unit_maps.recipes == UNIT_RECIPES
    # A family of planted's own recipes, all dense, computes planted's units bit for bit.
    same = PlantedFamilyModel([make_unit(i, r) for i, r in enumerate(UNIT_RECIPES)]).eval()
    batch = target.preprocess(images)
    with torch.no_grad():
        assert torch.equal(same(batch), PlantedModel().eval()(batch))
