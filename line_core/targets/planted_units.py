"""Ground truth of the planted model: what each planted unit responds to, and label matching.

Each :class:`PlantedUnit` says which concept it was built from and decides whether a free-text
label names that concept (``matches``). Matching works on keyword groups: a label matches when,
for at least one alternative, every group has a word in the label (so "horizontal stripes" needs
a horizontal-word AND a stripe-word; the OR unit "red or vertical stripes" accepts either half).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

Group = frozenset[str]

RED: Group = frozenset(
    "red reds reddish crimson scarlet ruby cherry vermilion vermillion carmine".split()
)
GREEN: Group = frozenset("green greens greenish emerald lime jade chartreuse viridian".split())
BLUE: Group = frozenset("blue blues bluish navy azure cobalt sapphire cerulean ultramarine".split())
YELLOW: Group = frozenset("yellow yellows yellowish gold golden lemon canary amber mustard".split())
PURPLE: Group = frozenset(
    "purple purples purplish violet magenta indigo orchid fuchsia amethyst".split()
)
HORIZONTAL: Group = frozenset("horizontal horizontally".split())
VERTICAL: Group = frozenset("vertical vertically".split())
DIAGONAL: Group = frozenset(
    "diagonal diagonals diagonally slanted slanting oblique tilted angled".split()
)
STRIPES: Group = frozenset(
    "stripe stripes striped stripey stripy pinstripe pinstripes pinstriped line lines lined "
    "band bands banded bar bars streak streaks striation striations".split()
)
CHECKERBOARD: Group = frozenset(
    "checkerboard checkerboards checker checkers checkered chequer chequers chequered "
    "chequerboard chessboard chess checks checked".split()
)
DOTS: Group = frozenset(
    "dot dots dotted dotty polka polkadot polkadots spot spots spotted spotty circles".split()
)


def label_words(label: str) -> set[str]:
    """Lower-case words of a label ("Polka-dotted, RED!" -> {"polka", "dotted", "red"})."""
    return set(re.findall(r"[a-z]+", label.lower()))


@dataclass(frozen=True)
class PlantedUnit:
    """One planted unit of the planted model's ``units`` layer.

    ``concept`` is a plain phrase the procedural renderer can draw; ``kind`` is "colour",
    "pattern", "and" (both parts needed) or "or" (either part drives it: polysemantic);
    ``parts`` are the single concepts it is built from; ``alternatives`` are the keyword groups
    used by :meth:`matches`.
    """

    index: int
    concept: str
    description: str
    kind: str
    parts: tuple[str, ...]
    alternatives: tuple[tuple[Group, ...], ...]

    def matches(self, label: str) -> bool:
        """Whether a free-text label names this unit's concept (see the module docstring)."""
        words = label_words(label)
        return any(all(words & group for group in groups) for groups in self.alternatives)


def _colour(index: int, name: str, group: Group) -> PlantedUnit:
    return PlantedUnit(
        index,
        name,
        f"fraction of {name} pixels (hue in the {name} range, saturated and not dark)",
        "colour",
        (name,),
        ((group,),),
    )


def _pattern(index: int, name: str, groups: tuple[Group, ...], how: str) -> PlantedUnit:
    return PlantedUnit(
        index, name, f"fraction of the image covered by {how}", "pattern", (name,), (groups,)
    )


def planted_units() -> list[PlantedUnit]:
    """The planted units in index order (index = unit of the ``units`` layer)."""
    return list(_planted_units())


@lru_cache(maxsize=1)
def _planted_units() -> tuple[PlantedUnit, ...]:
    return (
        _colour(0, "red", RED),
        _colour(1, "green", GREEN),
        _colour(2, "blue", BLUE),
        _colour(3, "yellow", YELLOW),
        _colour(4, "purple", PURPLE),
        _pattern(
            5,
            "horizontal stripes",
            (HORIZONTAL, STRIPES),
            "horizontal stripes (vertical-frequency band energy dominating)",
        ),
        _pattern(
            6,
            "vertical stripes",
            (VERTICAL, STRIPES),
            "vertical stripes (horizontal-frequency band energy dominating)",
        ),
        _pattern(
            7,
            "diagonal stripes",
            (DIAGONAL, STRIPES),
            "diagonal stripes (one diagonal band energy dominating)",
        ),
        _pattern(
            8,
            "checkerboard",
            (CHECKERBOARD,),
            "a checkerboard (both diagonal band energies, no axis energy)",
        ),
        _pattern(
            9,
            "polka dots",
            (DOTS,),
            "polka dots (round spots matching a centre-surround disk template)",
        ),
        PlantedUnit(
            10,
            "yellow horizontal stripes",
            "AND unit: yellow present nearby AND horizontal stripes at the same place",
            "and",
            ("yellow", "horizontal stripes"),
            ((YELLOW, HORIZONTAL, STRIPES),),
        ),
        PlantedUnit(
            11,
            "blue polka dots",
            "AND unit: blue present nearby AND polka dots at the same place",
            "and",
            ("blue", "polka dots"),
            ((BLUE, DOTS),),
        ),
        PlantedUnit(
            12,
            "red or vertical stripes",
            "OR unit (polysemantic): max of the red and the vertical-stripes maps",
            "or",
            ("red", "vertical stripes"),
            ((RED,), (VERTICAL, STRIPES)),
        ),
        PlantedUnit(
            13,
            "green or checkerboard",
            "OR unit (polysemantic): max of the green and the checkerboard maps",
            "or",
            ("green", "checkerboard"),
            ((GREEN,), (CHECKERBOARD,)),
        ),
    )


def planted_unit(index_or_concept: int | str) -> PlantedUnit:
    """Look a planted unit up by index or by its concept phrase."""
    for unit in _planted_units():
        if index_or_concept in (unit.index, unit.concept):
            return unit
    raise KeyError(index_or_concept)
