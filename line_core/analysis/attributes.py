"""The visual attributes a concept names, read with the procedural renderer's grammar.

A concept's *attributes* are the atoms the driver analysis reasons with: its colour families
("crimson" and "scarlet" are both ``colour:red``), its pattern (``pattern:stripes``, plus the
oriented form ``pattern:vertical stripes``), its shapes (``shape:circle``) and, for words the
grammar does not know, the word itself (``word:retriever``), so concepts of a photo generator
still have atoms. Colour families come from the hue, saturation and value of the renderer's
colour table (one fixed rule, not tuned per unit), so near-synonymous colour words share an
atom without any text similarity.

:func:`concept_terms` also returns each atom's words, which the engine's probes use to drop or
swap one attribute of a concept.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from line_core.concepts import fold_plural
from line_core.generators.procedural.colours import MODIFIERS, RGB
from line_core.generators.procedural.parser import match_terms, tokenize
from line_core.generators.procedural.patterns import ORIENTABLE_PATTERNS
from line_core.generators.procedural.vocabulary import STOP_WORDS, Term

#: Roles of the grammar that name something drawn (the others modify or connect).
KINDS = ("colour", "pattern", "shape", "word")
#: Words that carry no attribute even though the grammar does not know them.
_EMPTY_WORDS = frozenset({"and", "or", "in", "not", "without", "no"})


#: Hue bands (upper bound in degrees, exclusive) of the chromatic families; the rest is pink.
_HUE_BANDS = ((15, "red"), (45, "orange"), (70, "yellow"), (165, "green"), (195, "cyan"),
              (260, "blue"), (315, "purple"), (335, "pink"))
#: Every family :func:`colour_family` can return.
COLOUR_FAMILIES = ("red", "orange", "yellow", "green", "cyan", "blue", "purple", "pink", "brown",
                   "white", "black", "gray")


def colour_families(rgb: np.ndarray) -> np.ndarray:
    """The basic colour family of every RGB value in ``rgb`` (``[..., 3]``, 0-255).

    Black, white and gray by value and saturation, else by hue band; dark reds and oranges are
    brown, pale reds and purples pink. The one rule for colour words and image pixels alike.
    """
    values = np.asarray(rgb, dtype=np.float64) / 255.0
    top, low = values.max(axis=-1), values.min(axis=-1)
    span = top - low
    saturation = np.where(top > 0, span / np.where(top > 0, top, 1.0), 0.0)
    red, green, blue = values[..., 0], values[..., 1], values[..., 2]
    safe = np.where(span > 0, span, 1.0)
    hue = np.select(
        [top == red, top == green],
        [((green - blue) / safe) % 6.0, (blue - red) / safe + 2.0],
        (red - green) / safe + 4.0,
    ) * 60.0
    hue = np.where(hue >= _HUE_BANDS[-1][0], 0.0, hue)  # the top of the circle is red again
    bounds = [b for b, _ in _HUE_BANDS]
    family = np.asarray([name for _, name in _HUE_BANDS], dtype=object)[
        np.minimum(np.searchsorted(bounds, hue, side="right"), len(bounds) - 1)
    ]
    family = np.where(np.isin(family, ["red", "orange"]) & (top < 0.7), "brown", family)
    pale = np.isin(family, ["red", "purple"]) & (saturation < 0.5) & (top > 0.8)
    family = np.where(pale, "pink", family)
    family = np.where(saturation < 0.15, np.where(top > 0.85, "white", "gray"), family)
    return np.where(top < 0.2, "black", family)


def colour_family(rgb: RGB) -> str:
    """The basic colour family of one RGB value (see :func:`colour_families`)."""
    return str(colour_families(np.asarray(rgb, dtype=np.float64))[()])


@dataclass(frozen=True)
class ConceptTerm:
    """One attribute of a concept: its atom (``colour:red``) and the words that name it."""

    atom: str
    words: str
    kind: str


def atom_name(atom: str) -> str:
    """The readable name of an atom (``pattern:vertical stripes`` -> ``vertical stripes``)."""
    return atom.split(":", 1)[1] if ":" in atom else atom


def _colour_terms(term: Term, modifiers: list[Term]) -> list[ConceptTerm]:
    words = " ".join([*(m.text for m in modifiers), term.text])
    out = []
    for rgb in term.value:
        for modifier in modifiers:
            rgb = MODIFIERS[modifier.value](rgb)
        out.append(ConceptTerm(f"colour:{colour_family(rgb)}", words, "colour"))
    return out


@lru_cache(maxsize=8192)
def concept_terms(concept: str) -> tuple[ConceptTerm, ...]:
    """The attributes of a concept with their words, in text order (atoms may repeat)."""
    terms = match_terms(tokenize(concept))
    out: list[ConceptTerm] = []
    modifiers: list[Term] = []
    orientation: Term | None = None
    for term in terms:
        if term.role == "modifier":
            modifiers.append(term)
            continue
        if term.role == "colour":
            out += _colour_terms(term, modifiers)
        elif term.role == "orientation":
            orientation = term
        elif term.role == "pattern":
            out.append(ConceptTerm(f"pattern:{term.value}", term.text, "pattern"))
            if orientation is not None and term.value in ORIENTABLE_PATTERNS:
                name = f"{orientation.text} {term.value}"
                out.append(
                    ConceptTerm(f"pattern:{name}", f"{orientation.text} {term.text}", "pattern")
                )
        elif term.role == "shape":
            out.append(ConceptTerm(f"shape:{term.value[0]}", term.text, "shape"))
        elif term.role == "unknown" and term.text not in STOP_WORDS | _EMPTY_WORDS:
            out.append(ConceptTerm(f"word:{fold_plural(term.text)}", term.text, "word"))
        modifiers = []
    return tuple(out)


@lru_cache(maxsize=8192)
def attributes(concept: str) -> frozenset[str]:
    """The set of atoms a concept names (empty for a concept of stop words only)."""
    return frozenset(t.atom for t in concept_terms(concept))


def with_broader(atoms: frozenset[str]) -> frozenset[str]:
    """The atoms plus the plain pattern of each oriented one (``vertical stripes`` -> ``stripes``).

    So a concept naming plain "stripes" shares an atom with a vertical-stripes term.
    """
    out = set(atoms)
    for atom in atoms:
        kind, _, name = atom.partition(":")
        first, _, rest = name.partition(" ")
        if kind == "pattern" and rest and _is_orientation(first):
            out.add(f"pattern:{rest}")
    return frozenset(out)


@lru_cache(maxsize=256)
def _is_orientation(word: str) -> bool:
    terms = match_terms(tokenize(word))
    return len(terms) == 1 and terms[0].role == "orientation"
