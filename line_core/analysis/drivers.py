"""What drives a unit: groups of concepts that share a driver, decided from the evidence.

Method
------
1. *Strength* of each tried concept: its rise above the control relative to the strongest
   concept, ``(mean - control mean) / (best mean - control mean)`` clipped to [0, 1] (the ratio
   of MADs when the control has a spread; the median of the baseline concepts stands in for
   the control mean when no control is known). AUC saturates near 1 for anything that moves a
   sparse unit at all; the strength does not.
2. *Formula*: a small OR / AND / NOT formula over the concepts' attributes
   (:mod:`line_core.analysis.attributes`), found by beam search to separate strong from weak
   concepts (:mod:`line_core.analysis.formula`); each concept weighs its strength times its
   reliability ``2 AUC - 1``.
3. *Groups*: one per OR term of the formula, holding the concepts that satisfy that term, drive
   the unit (strength >= ``min_strength``) and score high (AUC >= the report threshold). A
   concept satisfying two terms ("red vertical stripes" for red OR vertical stripes) mixes both
   drivers: it is listed as *mixed*, never used to join the groups. A strong concept no term
   covers joins the one group whose term shares an atom with it (an oriented pattern counts
   as its plain pattern too: "red stripes" joins "diagonal stripes"), else the first group of
   such concepts whose members all share an atom with it, else starts one. Text similarity
   only merges groups whose best concepts are near-synonyms (cosine >= ``synonym_similarity``,
   each group compared with the groups already kept, never chained), and names nothing else.
4. *Evidence*: for each group, the tests that separate it from the others: a strong concept
   satisfying the group's term without an attribute of another group or of its own best
   concept ("that attribute is not needed"), and for an AND term the strongest concept lacking
   one of its atoms ("that atom is needed").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from line_core.analysis.attributes import atom_name, attributes, with_broader
from line_core.analysis.embedding import Embedder, cosine_matrix, embed_texts
from line_core.analysis.formula import Formula, Term, search_formula
from line_core.concepts import BASELINE_SOURCES, ScoredConcept
from line_core.record.history import ScoredRecord

#: AUCs this close to a group's best count as a tie; the strongest of the tie is its best.
AUC_TIE = 0.02  #: ties in strength go to the shorter phrase
MAX_TESTS = 3


@dataclass(frozen=True)
class DriverConfig:
    """Knobs of the driver analysis (see the module docstring)."""

    min_strength: float = 0.5
    synonym_similarity: float = 0.8


@dataclass(frozen=True)
class Evidence:
    """One separating test: a concept's score and what it shows about an attribute."""

    concept: str
    auc: float
    auc_low: float
    auc_high: float
    strength: float
    attribute: str
    needed: bool
    source: str = ""

    def text(self) -> str:
        """``vertical stripes in grey: AUC 0.95, so red is not needed``."""
        verdict = "is needed" if self.needed else "is not needed"
        return (
            f"{self.concept}: AUC {self.auc:.2f}, strength {self.strength:.2f}, "
            f"so {self.attribute} {verdict}"
        )


@dataclass
class Driver:
    """One group of concepts sharing a driver."""

    term: str
    atoms: list[str]
    members: list[ScoredRecord]
    best: ScoredRecord
    strength: float
    tests: list[Evidence] = field(default_factory=list)


@dataclass
class DriverAnalysis:
    """Result of :func:`find_drivers`."""

    strength: dict[str, float]
    formula: Formula
    drivers: list[Driver]
    mixed: list[str]
    verdict: str


def baseline_level(records: Sequence[ScoredRecord], control: Sequence[float] | None) -> float:
    """The unit's level on non-drivers: control mean, else the baseline concepts' median."""
    if control is not None and len(control) > 0:
        return float(np.mean(control))
    chance = [_mean(r) for r in records if r.source in BASELINE_SOURCES and r.iteration == 0]
    means = chance or [_mean(r) for r in records]
    return float(np.median(means)) if means else 0.0


def _mean(record: ScoredConcept) -> float:
    """Mean activation on the concept's images (a record's own list when it has one)."""
    activations = getattr(record, "activations", ())
    return float(np.mean(activations)) if activations else record.mean_activation


def strengths(records: Sequence[ScoredConcept], baseline: float) -> dict[str, float]:
    """Each concept's rise above ``baseline`` relative to the strongest concept, in [0, 1]."""
    means = {r.concept: _mean(r) for r in records}
    top = max(means.values(), default=baseline)
    span = top - baseline
    if not np.isfinite(span) or span <= 1e-12:
        return dict.fromkeys(means, 0.0)
    return {c: float(np.clip((m - baseline) / span, 0.0, 1.0)) for c, m in means.items()}


def reliability(auc: float) -> float:
    """How reliably a concept's images fire: ``2 AUC - 1`` clipped to [0, 1].

    A concept whose mean is high because one image in five fires (random colours) weighs
    little in the formula.
    """
    return float(np.clip(2.0 * auc - 1.0, 0.0, 1.0))


def best_of_tie(members: Sequence[ScoredRecord], strength: dict[str, float]) -> ScoredRecord:
    """The group's best: among members within :data:`AUC_TIE` of the top AUC, the strongest."""
    top = max(r.auc for r in members)
    tied = [r for r in members if r.auc >= top - AUC_TIE]
    return max(
        tied,
        key=lambda r: (
            round(strength[r.concept], 2),
            -len(r.concept.split()),
            r.rank_key,
            r.concept,
        ),
    )


def _sufficiency(
    term: Term,
    avoid: list[str],
    records: Sequence[ScoredRecord],
    strength: dict[str, float],
    floor: float,
) -> list[Evidence]:
    out = []
    for atom in avoid:
        fits = [
            r
            for r in records
            if term.holds(attributes(r.concept))
            and atom not in attributes(r.concept)
            and strength[r.concept] >= floor
        ]
        if fits:
            r = max(fits, key=lambda x: (strength[x.concept], x.rank_key))
            out.append(_test_of(r, strength, atom, needed=False))
    return out


def _test_of(r: ScoredRecord, strength: dict[str, float], atom: str, needed: bool) -> Evidence:
    """A tried concept as the separating test of one attribute."""
    return Evidence(r.concept, r.auc, r.auc_low, r.auc_high, strength[r.concept],
                    atom_name(atom), needed=needed, source=r.source)


def _necessity(
    term: Term, records: Sequence[ScoredRecord], strength: dict[str, float], floor: float
) -> list[Evidence]:
    if len(term.present) < 2:
        return []
    out = []
    for atom in sorted(term.present):
        rest = term.present - {atom}
        lacking = [
            r
            for r in records
            if rest <= attributes(r.concept) and atom not in attributes(r.concept)
        ]
        if lacking:
            r = max(lacking, key=lambda x: (strength[x.concept], x.rank_key))
            if strength[r.concept] < floor:
                out.append(_test_of(r, strength, atom, needed=True))
    return out


def _evidence(
    driver_term: Term,
    best: ScoredRecord,
    others: list[Term],
    records: Sequence[ScoredRecord],
    strength: dict[str, float],
    floor: float,
) -> list[Evidence]:
    foreign = sorted({a for t in others for a in t.present} - driver_term.present)
    own = sorted(attributes(best.concept) - driver_term.present - set(foreign))
    tests = _necessity(driver_term, records, strength, floor)
    tests += _sufficiency(driver_term, foreign + own, records, strength, floor)
    return tests[:MAX_TESTS]


def _verdict(drivers: list[Driver]) -> str:
    if not drivers:
        return "no driver: nothing moves the unit clearly above the control"
    if len(drivers) == 1:
        only = drivers[0]
        if len(only.atoms) >= 2:
            return "one driver that needs " + " and ".join(atom_name(a) for a in only.atoms)
        if len(only.members) >= 2:
            return "one driver, phrased many ways"
        return "one driver"
    words = {2: "two", 3: "three", 4: "four"}
    return f"{words.get(len(drivers), str(len(drivers)))} independent drivers"


def _merge_synonyms(
    groups: list[tuple[Term | None, list[ScoredRecord]]],
    strength: dict[str, float],
    threshold: float,
    embedder: Embedder | None,
) -> list[tuple[Term | None, list[ScoredRecord]]]:
    """Merge a group into an earlier (stronger) one whose best concept is a near-synonym."""
    if len(groups) < 2 or threshold > 1.0:
        return groups
    bests = [best_of_tie(members, strength).concept for _, members in groups]
    similarity = cosine_matrix(embed_texts(bests, embedder))
    kept: list[int] = []
    merged: dict[int, list[ScoredRecord]] = {}
    for i in range(len(groups)):
        target = next((k for k in kept if similarity[i, k] >= threshold), None)
        if target is None:
            kept.append(i)
            merged[i] = list(groups[i][1])
        else:
            merged[target] += [r for r in groups[i][1] if r not in merged[target]]
    return [(groups[k][0], merged[k]) for k in kept]


def join_terms(terms: Sequence[Term]) -> list[Term]:
    """OR terms that share a required atom are one driver in different contexts.

    ``(black AND speckles) OR (black AND star)`` is black (needing a large black area), not two
    drivers: such terms are joined into one term holding their shared atoms. Terms sharing no
    atom ("red" and "vertical stripes") stay apart; nothing is joined through a third term's
    words, only through required atoms.
    """
    joined: list[list[Term]] = []
    for term in terms:
        hits = [g for g in joined if any(t.present & term.present for t in g)]
        merged = [term, *(t for g in hits for t in g)]
        joined = [g for g in joined if not any(g is h for h in hits)] + [merged]
    out = []
    for group in joined:
        if len(group) == 1:
            out.append(group[0])
            continue
        shared = frozenset.intersection(*(t.present for t in group))
        out.append(Term(shared or frozenset.union(*(t.present for t in group))))
    order = {t: i for i, t in enumerate(terms)}
    return sorted(
        out,
        key=lambda t: min(
            (order[x] for x in terms if x.present <= t.present or t.present <= x.present), default=0
        ),
    )


def _shared_atoms(members: Sequence[ScoredRecord]) -> frozenset[str]:
    return frozenset.intersection(*(with_broader(attributes(r.concept)) for r in members))


def _join_uncovered(
    groups: list[tuple[Term | None, list[ScoredRecord]]], record: ScoredRecord
) -> None:
    """Put a strong concept no term covers with concepts like it, or in a group of its own.

    It joins the first termless group whose members all share an atom with it ("green and
    white checkerboard" and "cyan checkerboard"); nothing is chained through a third concept.
    """
    atoms = with_broader(attributes(record.concept))
    for term, members in groups:
        if term is None and _shared_atoms(members) & atoms:
            members.append(record)
            return
    groups.append((None, [record]))


def find_drivers(
    records: Sequence[ScoredRecord],
    auc_threshold: float,
    control: Sequence[float] | None = None,
    config: DriverConfig | None = None,
    embedder: Embedder | None = None,
) -> DriverAnalysis:
    """Group the tried concepts (one record per concept) by what drives the unit."""
    config = config or DriverConfig()
    strength = strengths(records, baseline_level(records, control))
    weights = [strength[r.concept] * reliability(r.auc) for r in records]
    formula = search_formula([attributes(r.concept) for r in records], weights)
    drives = [
        r
        for r in records
        if strength[r.concept] >= config.min_strength and r.auc >= auc_threshold - 1e-12
    ]

    groups: list[tuple[Term | None, list[ScoredRecord]]] = []
    covered: dict[str, int] = {}
    for term in join_terms(formula.terms):
        members = [r for r in drives if term.holds(attributes(r.concept))]
        for r in members:
            covered[r.concept] = covered.get(r.concept, 0) + 1
        groups.append((term, members))
    mixed = [r.concept for r in drives if covered.get(r.concept, 0) > 1]
    groups = [(t, [r for r in ms if r.concept not in mixed] or ms) for t, ms in groups if ms]
    for record in drives:  # strong, but no term covers it: the one group it shares atoms with
        if record.concept in covered:
            continue
        near = [
            g for g in groups
            if g[0] is not None and with_broader(g[0].present) & attributes(record.concept)
        ]
        if len(near) == 1:
            near[0][1].append(record)
        elif near:
            mixed.append(record.concept)
        else:
            _join_uncovered(groups, record)
    groups.sort(key=lambda g: -max(strength[r.concept] for r in g[1]))
    groups = _merge_synonyms(groups, strength, config.synonym_similarity, embedder)

    terms = [t for t, _ in groups]
    drivers = []
    for i, (term, members) in enumerate(groups):
        best = best_of_tie(members, strength)
        own = term or Term(attributes(best.concept))
        others = [t for j, t in enumerate(terms) if j != i and t is not None]
        tests = (
            _evidence(own, best, others, records, strength, config.min_strength)
            if own.present
            else []
        )
        drivers.append(
            Driver(
                term=term.text() if term else best.concept,
                atoms=sorted(own.present),
                members=list(members),
                best=best,
                strength=max(strength[r.concept] for r in members),
                tests=tests,
            )
        )
    return DriverAnalysis(strength, formula, drivers, mixed, _verdict(drivers))
