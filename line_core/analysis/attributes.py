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

import colorsys
from dataclasses import dataclass
from functools import lru_cache

from line_core.concepts import fold_plural
from line_core.generators.procedural.colours import MODIFIERS, RGB
from line_core.generators.procedural.parser import match_terms, tokenize
from line_core.generators.procedural.patterns import ORIENTABLE_PATTERNS
from line_core.generators.procedural.vocabulary import STOP_WORDS, Term

#: Roles of the grammar that name something drawn (the others modify or connect).
KINDS = ("colour", "pattern", "shape", "word")
#: Words that carry no attribute even though the grammar does not know them.
_EMPTY_WORDS = frozenset({"and", "or", "in", "not", "without", "no"})


def colour_family(rgb: RGB) -> str:
    """The basic colour family of an RGB value (black/white/gray by value, else by hue)."""
    hue, saturation, value = colorsys.rgb_to_hsv(*(c / 255.0 for c in rgb))
    degrees = hue * 360.0
    if value < 0.2:
        return "black"
    if saturation < 0.15:
        return "white" if value > 0.85 else "gray"
    if degrees >= 335 or degrees < 15:
        family = "red"
    elif degrees < 45:
        family = "orange"
    elif degrees < 70:
        family = "yellow"
    elif degrees < 165:
        family = "green"
    elif degrees < 195:
        family = "cyan"
    elif degrees < 260:
        family = "blue"
    elif degrees < 315:
        family = "purple"
    else:
        family = "pink"
    if family in ("red", "orange") and value < 0.7:
        return "brown"
    if family in ("red", "purple") and saturation < 0.5 and value > 0.8:
        return "pink"
    return family


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
