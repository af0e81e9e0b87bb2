"""Planted families: fresh planted models drawn from a seed, each with known ground truth.

``planted-family:SEED`` (or ``planted-family:SEED:N``) is a planted model like ``planted``
(same colour and pattern maps, same preprocessing, same layers) whose units are drawn at random
from the seed: single colours, single patterns, colour AND pattern, and OR of two unrelated
attributes, each dense (the unit map's spatial mean, as in ``planted``) or sparse (zero unless
the attribute covers most of the image). So any number of planted models can be drawn, and a
method can be checked on models it was never tuned on.

Rule: tune only on :data:`DEVELOPMENT_SEEDS`; report on :data:`HELD_OUT_SEEDS`. The two sets
are disjoint, and no seed of either is used by the tests (they draw seeds 932 and 999).

Shapes are not drawn: the planted feature maps have no shape detector (only colour fractions
and stripe / checkerboard / dot energies), so a shape unit would have no ground truth here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from line_core.errors import ConfigError
from line_core.targets.base import TARGETS, Target
from line_core.targets.planted import PlantedModel, PlantedUnitMaps
from line_core.targets.planted_features import COLOURS, PATTERNS
from line_core.targets.planted_units import (
    BLUE,
    CHECKERBOARD,
    DIAGONAL,
    DOTS,
    GREEN,
    HORIZONTAL,
    PURPLE,
    RED,
    STRIPES,
    VERTICAL,
    YELLOW,
    Group,
    PlantedUnit,
)
from line_core.targets.preprocess import ImagePreprocess

#: Tune on these seeds only.
DEVELOPMENT_SEEDS: tuple[int, ...] = (1, 2, 3, 4, 5)
#: Report on these seeds; never look at them while tuning.
HELD_OUT_SEEDS: tuple[int, ...] = tuple(range(101, 111))

DEFAULT_UNITS = 12
MAX_UNITS = 64
KINDS = ("colour", "pattern", "and", "or")
#: A sparse unit reads ``relu(mean - t) / (1 - t)`` of its unit map, with this t.
SPARSE_THRESHOLD = 0.5
#: Maps too weak to threshold: the dot map covers only ~10-20 % of a polka-dot image (dots are
#: small), so a sparse dot unit would never fire. Dots appear in dense units only.
WEAK_MAPS = frozenset({"dots"})

ORANGE: Group = frozenset("orange oranges orangish orangey tangerine".split())
CYAN: Group = frozenset("cyan cyans cyanish teal turquoise aqua aquamarine".split())
WHITE: Group = frozenset("white whites whitish ivory snow snowy".split())
BLACK: Group = frozenset("black blacks blackish ebony jet onyx inky".split())

#: Keyword groups naming each attribute (a label names it when every group has a word in it).
ATTRIBUTE_GROUPS: dict[str, tuple[Group, ...]] = {
    "red": (RED,),
    "orange": (ORANGE,),
    "yellow": (YELLOW,),
    "green": (GREEN,),
    "cyan": (CYAN,),
    "blue": (BLUE,),
    "purple": (PURPLE,),
    "white": (WHITE,),
    "black": (BLACK,),
    "horizontal": (HORIZONTAL, STRIPES),
    "vertical": (VERTICAL, STRIPES),
    "diagonal": (DIAGONAL, STRIPES),
    "checkerboard": (CHECKERBOARD,),
    "dots": (DOTS,),
}
#: The phrase the procedural renderer draws for each attribute.
ATTRIBUTE_PHRASES: dict[str, str] = {
    **{c: c for c in COLOURS},
    "horizontal": "horizontal stripes",
    "vertical": "vertical stripes",
    "diagonal": "diagonal stripes",
    "checkerboard": "checkerboard",
    "dots": "polka dots",
}

Recipe = tuple[str, ...]


@dataclass(frozen=True)
class FamilyUnit:
    """One drawn unit: its recipe (``planted.UNIT_RECIPES`` format), kind, sparsity, truth.

    ``truth`` is the :class:`PlantedUnit` ground truth (what ``target.extra["planted_units"]``
    holds); ``concept``, ``parts`` and :meth:`matches` read it. ``threshold`` is 0 for dense
    units and :data:`SPARSE_THRESHOLD` for sparse ones.
    """

    index: int
    recipe: Recipe
    kind: str
    sparse: bool
    threshold: float
    truth: PlantedUnit

    @property
    def concept(self) -> str:
        """A phrase the procedural renderer draws ("yellow horizontal stripes")."""
        return self.truth.concept

    @property
    def parts(self) -> tuple[str, ...]:
        """The single concepts the unit is built from."""
        return self.truth.parts

    def matches(self, label: str) -> bool:
        """Whether a free-text label names this unit's concept."""
        return self.truth.matches(label)


def related(a: str, b: str) -> bool:
    """Two attributes are related when equal or sharing a keyword group (two stripe kinds)."""
    return a == b or bool(set(ATTRIBUTE_GROUPS[a]) & set(ATTRIBUTE_GROUPS[b]))


@lru_cache(maxsize=8)
def _candidates(kind: str, sparse: bool) -> tuple[Recipe, ...]:
    """Every recipe of a kind, in a fixed order (weak maps left out of sparse units)."""
    patterns = [p for p in PATTERNS if not (sparse and p in WEAK_MAPS)]
    if kind == "colour":
        return tuple(("map", c) for c in COLOURS)
    if kind == "pattern":
        return tuple(("map", p) for p in patterns)
    if kind == "and":
        return tuple(("and", c, p) for c in COLOURS for p in patterns)
    names = [*COLOURS, *patterns]
    return tuple(
        ("or", a, b) for i, a in enumerate(names) for b in names[i + 1 :] if not related(a, b)
    )


def _kind_of(recipe: Recipe) -> str:
    if recipe[0] != "map":
        return recipe[0]
    return "colour" if recipe[1] in COLOURS else "pattern"


def make_unit(index: int, recipe: Recipe, sparse: bool = False) -> FamilyUnit:
    """One unit with its ground truth, e.g. ``make_unit(0, ("or", "red", "checkerboard"))``."""
    names = tuple(recipe[1:])
    shapes = {"map": 1, "and": 2, "or": 2}
    if recipe[0] not in shapes or len(names) != shapes[recipe[0]]:
        raise ValueError(f"not a unit recipe: {recipe}")
    if any(name not in ATTRIBUTE_GROUPS for name in names):
        raise ValueError(f"unknown attribute in {recipe}; known: {', '.join(ATTRIBUTE_GROUPS)}")
    if recipe[0] == "and" and (names[0] not in COLOURS or names[1] not in PATTERNS):
        raise ValueError(f"an AND unit is (colour, pattern): {recipe}")
    if recipe[0] == "or" and related(*names):
        raise ValueError(f"an OR unit needs two unrelated attributes: {recipe}")
    if sparse and any(name in WEAK_MAPS for name in names):
        raise ValueError(f"a sparse unit cannot use a weak map: {recipe}")
    kind = _kind_of(recipe)
    parts = tuple(ATTRIBUTE_PHRASES[n] for n in names)
    if kind == "and":
        concept = f"{names[0]} {parts[1]}"
        alternatives = (ATTRIBUTE_GROUPS[names[0]] + ATTRIBUTE_GROUPS[names[1]],)
        how = f"AND unit: {names[0]} present nearby AND {parts[1]} at the same place"
    elif kind == "or":
        concept = " or ".join(parts)
        alternatives = tuple(ATTRIBUTE_GROUPS[n] for n in names)
        how = f"OR unit (polysemantic): max of the {parts[0]} and the {parts[1]} maps"
    else:
        concept = parts[0]
        alternatives = (ATTRIBUTE_GROUPS[names[0]],)
        how = f"{kind} unit: the {concept} map"
    if sparse:
        how += (
            f"; sparse: relu(mean - {SPARSE_THRESHOLD:g}) / {1 - SPARSE_THRESHOLD:g}, "
            "zero unless it covers most of the image"
        )
    else:
        how += "; dense: spatial mean"
    truth = PlantedUnit(index, concept, how, kind, parts, alternatives)
    threshold = SPARSE_THRESHOLD if sparse else 0.0
    return FamilyUnit(index, tuple(recipe), kind, sparse, threshold, truth)


def _check_size(seed: int, n_units: int) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"planted-family seed must be a whole number >= 0, got {seed!r}")
    if isinstance(n_units, bool) or not isinstance(n_units, int):
        raise ConfigError(f"planted-family unit count must be a whole number, got {n_units!r}")
    if not 1 <= n_units <= MAX_UNITS:
        raise ConfigError(f"planted-family unit count must be in 1..{MAX_UNITS}, got {n_units}")


def draw_family(seed: int, n_units: int = DEFAULT_UNITS) -> list[FamilyUnit]:
    """Draw a planted family from a seed (deterministic for ``(seed, n_units)``).

    Kinds: one each of colour, pattern, AND, OR first (as far as ``n_units`` allows), the rest
    drawn uniformly, then shuffled. Between a third and two thirds of the units (at least one)
    are sparse. No recipe repeats; OR parts are unrelated (see :func:`related`).
    """
    _check_size(seed, n_units)
    rng = np.random.default_rng(seed)
    extra = rng.integers(len(KINDS), size=max(0, n_units - len(KINDS)))
    kinds = [*KINDS[:n_units], *(KINDS[int(k)] for k in extra)]
    order = rng.permutation(n_units)
    kinds = [kinds[int(i)] for i in order]
    low = math.ceil(n_units / 3)
    n_sparse = int(rng.integers(low, max(low, (2 * n_units) // 3) + 1))
    sparse = np.zeros(n_units, dtype=bool)
    sparse[rng.choice(n_units, size=n_sparse, replace=False)] = True

    used: set[Recipe] = set()
    units = []
    for index, (kind, is_sparse) in enumerate(zip(kinds, sparse.tolist(), strict=True)):
        options = [r for r in _candidates(kind, is_sparse) if r not in used]
        if not options:  # this kind is used up: take any other recipe
            options = [r for k in KINDS for r in _candidates(k, is_sparse) if r not in used]
        recipe = options[int(rng.integers(len(options)))]
        used.add(recipe)
        units.append(make_unit(index, recipe, is_sparse))
    return units


class ThresholdedMean(nn.Module):
    """[N, U, H, W] -> [N, U]: ``relu(mean - t) / (1 - t)`` per unit (t = 0: the plain mean)."""

    def __init__(self, thresholds: list[float]) -> None:
        super().__init__()
        self.register_buffer("thresholds", torch.tensor(thresholds, dtype=torch.float32))

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        """Spatial mean, thresholded for sparse units."""
        mean = maps.mean(dim=(2, 3))
        return F.relu(mean - self.thresholds) / (1.0 - self.thresholds)


class PlantedFamilyModel(PlantedModel):
    """The planted model with drawn units: same features, its own recipes and read-out."""

    def __init__(self, units: list[FamilyUnit]) -> None:
        super().__init__()
        self.unit_maps = PlantedUnitMaps(recipes=tuple(u.recipe for u in units))
        self.units = ThresholdedMean([u.threshold for u in units])


def parse_spec(argument: str) -> tuple[int, int]:
    """``"SEED"`` or ``"SEED:N"`` -> (seed, n_units); ConfigError (one line) when malformed."""
    fields = [f.strip() for f in str(argument).strip().split(":")]
    if len(fields) > 2 or not all(f.isascii() and f.isdigit() for f in fields):
        raise ConfigError(
            f"bad planted-family spec '{argument}': use planted-family:SEED or "
            f"planted-family:SEED:N with whole numbers (N in 1..{MAX_UNITS}), "
            "e.g. planted-family:101"
        )
    seed = int(fields[0])
    n_units = int(fields[1]) if len(fields) == 2 else DEFAULT_UNITS
    _check_size(seed, n_units)
    return seed, n_units


@TARGETS.register(
    "planted-family",
    "a fresh planted model drawn from a seed, ground truth known: planted-family:SEED[:N] "
    f"(tune on seeds {DEVELOPMENT_SEEDS[0]}..{DEVELOPMENT_SEEDS[-1]}, "
    f"report on {HELD_OUT_SEEDS[0]}..{HELD_OUT_SEEDS[-1]})",
    takes_argument=True,
)
def planted_family(argument: str) -> Target:
    """The planted family of a seed as a Target (``extra["planted_units"]``: ground truths)."""
    seed, n_units = parse_spec(argument)
    units = draw_family(seed, n_units)
    suffix = "" if n_units == DEFAULT_UNITS else f":{n_units}"
    counts = ", ".join(f"{sum(u.kind == k for u in units)} {k}" for k in KINDS)
    n_sparse = sum(u.sparse for u in units)
    return Target(
        name=f"planted-family:{seed}{suffix}",
        model=PlantedFamilyModel(units).eval(),
        preprocess=ImagePreprocess(size=224),
        description=(
            f"planted family drawn from seed {seed}: {n_units} units ({counts}; {n_sparse} sparse)"
        ),
        default_layer="units",
        default_neuron=0,
        class_names=None,
        input_size=224,
        extra={
            "planted_units": [u.truth for u in units],
            "family_units": units,
            "family_seed": seed,
        },
    )
