"""A small compositional explanation of a unit: OR / AND / NOT of concept attributes.

The formula is kept in disjunctive normal form (an OR of terms, each an AND of atoms and
negated atoms), because its OR terms are what the driver analysis reads as separate drivers.
It is found by beam search, as in compositional neuron explanations (Mu & Andreas, 2020),
but over the *tried concepts* rather than over image pixels: each concept is a set of atoms
(see :mod:`line_core.analysis.attributes`) with a strength in [0, 1] (how strongly it drives
the unit relative to the strongest concept). A formula is scored by the soft IoU between its
truth over the concepts and their strengths::

    IoU(f) = sum_{c: f(c)} s_c / (#{c: f(c)} + sum_{c: not f(c)} s_c)

minus :data:`LENGTH_PENALTY` per literal beyond the first: covering a weak concept costs
nearly a whole concept, missing a strong one costs its strength. Search steps: add an OR term
``{a}``, AND ``a`` into a term, or AND ``NOT a`` into a term; the beam keeps the best
:data:`BEAM_WIDTH` formulas of each length up to :data:`MAX_LITERALS`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from line_core.analysis.attributes import atom_name

BEAM_WIDTH = 10
MAX_LITERALS = 4
#: Score lost per literal beyond the first (a longer formula must explain clearly more).
LENGTH_PENALTY = 0.02


@dataclass(frozen=True)
class Term:
    """An AND of atoms (``present``) and negated atoms (``absent``)."""

    present: frozenset[str]
    absent: frozenset[str] = frozenset()

    def holds(self, atoms: frozenset[str]) -> bool:
        """Whether a concept with these atoms satisfies the term."""
        return self.present <= atoms and not (self.absent & atoms)

    @property
    def length(self) -> int:
        """Number of literals."""
        return len(self.present) + len(self.absent)

    def text(self) -> str:
        """Readable form: ``red AND vertical stripes AND NOT circle``."""
        parts = [atom_name(a) for a in sorted(self.present)]
        parts += [f"NOT {atom_name(a)}" for a in sorted(self.absent)]
        return " AND ".join(parts)


@dataclass(frozen=True)
class Formula:
    """An OR of terms with its fit to the concepts."""

    terms: tuple[Term, ...]
    iou: float = 0.0
    score: float = 0.0

    @property
    def length(self) -> int:
        """Number of literals."""
        return sum(t.length for t in self.terms)

    def holds(self, atoms: frozenset[str]) -> bool:
        """Whether a concept with these atoms satisfies the formula."""
        return any(t.holds(atoms) for t in self.terms)

    def text(self) -> str:
        """Readable form, terms joined by OR (parenthesised when compound)."""
        if not self.terms:
            return ""
        texts = [t.text() for t in self.terms]
        if len(texts) == 1:
            return texts[0]
        return " OR ".join(f"({t})" if " AND " in t else t for t in texts)

    def key(self) -> tuple:
        """A canonical identity (term order does not matter)."""
        return tuple(
            sorted((tuple(sorted(t.present)), tuple(sorted(t.absent))) for t in self.terms)
        )


def soft_iou(truth: np.ndarray, strength: np.ndarray) -> float:
    """Soft IoU of a boolean cover with strengths in [0, 1] (0 when nothing is covered)."""
    covered = float(strength[truth].sum())
    denominator = float(truth.sum()) + float(strength[~truth].sum())
    return covered / denominator if denominator > 0 else 0.0


class _Scorer:
    """Evaluates formulas over fixed concepts (atom sets and strengths)."""

    def __init__(self, atoms: Sequence[frozenset[str]], strength: np.ndarray) -> None:
        self.atoms = list(atoms)
        self.strength = strength
        names = sorted(set().union(*self.atoms)) if self.atoms else []
        self.has = {a: np.array([a in s for s in self.atoms], dtype=bool) for a in names}

    def truth(self, formula: Formula) -> np.ndarray:
        out = np.zeros(len(self.atoms), dtype=bool)
        for term in formula.terms:
            mask = np.ones(len(self.atoms), dtype=bool)
            for atom in term.present:
                mask &= self.has[atom]
            for atom in term.absent:
                mask &= ~self.has[atom]
            out |= mask
        return out

    def scored(self, terms: tuple[Term, ...]) -> Formula:
        draft = Formula(terms)
        iou = soft_iou(self.truth(draft), self.strength)
        return Formula(terms, iou, iou - LENGTH_PENALTY * max(draft.length - 1, 0))


def _expansions(formula: Formula, atoms: Sequence[str]) -> list[tuple[Term, ...]]:
    out: list[tuple[Term, ...]] = []
    terms = formula.terms
    for atom in atoms:
        if not any(t.present == frozenset({atom}) for t in terms):
            out.append((*terms, Term(frozenset({atom}))))
        for i, term in enumerate(terms):
            if atom in term.present or atom in term.absent:
                continue
            grown = Term(term.present | {atom}, term.absent)
            out.append((*terms[:i], grown, *terms[i + 1 :]))
            pruned = Term(term.present, term.absent | {atom})
            out.append((*terms[:i], pruned, *terms[i + 1 :]))
    return out


def _rank(formula: Formula) -> tuple:
    """Best score first; at a tie the shorter formula, fewer NOTs, then the more specific words.

    ("vertical stripes" wins over "stripes" when both cover the same concepts.)
    """
    negated = sum(len(t.absent) for t in formula.terms)
    return (-round(formula.score, 9), formula.length, negated, -len(formula.text()), formula.text())


def search_formula(
    atoms: Sequence[frozenset[str]],
    strength: Sequence[float],
    beam_width: int = BEAM_WIDTH,
    max_literals: int = MAX_LITERALS,
) -> Formula:
    """The best DNF formula over the concepts' atoms (an empty formula when there are none)."""
    values = np.clip(np.asarray(strength, dtype=np.float64), 0.0, 1.0)
    scorer = _Scorer(atoms, values)
    names = sorted(scorer.has)
    if not names or values.sum() <= 0:
        return Formula(())
    beam = sorted((scorer.scored((Term(frozenset({a})),)) for a in names), key=_rank)
    best = beam[0]
    beam = beam[:beam_width]
    for _ in range(max_literals - 1):
        seen: dict[tuple, Formula] = {}
        for formula in beam:
            for terms in _expansions(formula, names):
                candidate = scorer.scored(terms)
                if candidate.length <= max_literals and candidate.iou > 0:
                    seen.setdefault(candidate.key(), candidate)
        if not seen:
            break
        beam = sorted(seen.values(), key=_rank)[:beam_width]
        if _rank(beam[0]) < _rank(best):
            best = beam[0]
    return best
