"""Driver-separating probes: the loop's tests that tell one driver from two.

Once the best concept is clear (AUC >= :data:`CLEAR_AUC`), a share of the run's iterations
(``probe_share``, default ``line_core.config.DEFAULT_PROBE_SHARE``, counted inside the user's
iteration budget) scores probes instead of a proposal, :data:`PROBE_BATCH` concepts per probe
iteration in one forward pass:

* *ablations* of the best concept: each attribute dropped (colour made neutral: grey on
  silver; pattern or shape left out) or swapped (another colour, pattern, orientation or
  shape): if "grey vertical stripes on silver" still fires, red is not needed;
* ablations of the best-ranked concept sharing no attribute with the best that is strong or
  clearly above chance (a second driver), taking turns with the best's ablations;
* concepts *unlike* every strong concept so far: from the generator's vocabulary, sharing no
  attribute with them: first each attribute never scored on its own, alone, those seen firing
  inside a mixture first; then attributes the run has not named at all.

Before all of these come the colours the images that fire are made of (image-side evidence,
:mod:`line_core.analysis.image_colours`), alone and in the best concept's pattern:
"diagonal stripes" that fires only on its green draws is tested as "green diagonal stripes".

Attributes are read with the renderer's grammar (:mod:`line_core.analysis.attributes`);
swap words come from the mutation word lists. Probes are tagged ``Source.PROBE``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from line_core.analysis.attributes import (
    ConceptTerm,
    atom_name,
    attributes,
    concept_terms,
    with_broader,
)
from line_core.analysis.drivers import strengths
from line_core.concepts import ScoredConcept, normalise
from line_core.proposers.wordlists import ORIENTATIONS, SWAP_COLOURS

#: Concepts scored per probe iteration (one forward pass).
PROBE_BATCH = 4
#: The best concept counts as clear from this AUC on.
CLEAR_AUC = 0.9
#: A concept is strong from this share of the strongest concept's rise above the control.
STRONG = 0.5
#: A concept sharing no attribute with the best is a second-driver candidate when it is strong
#: or clearly above chance: a second driver seen only in a mixture ("yellow crosses" for a
#: yellow OR blue unit) is diluted, so its strength alone would hide it.
SECOND_AUC = 0.7
#: Figure and ground colours without hue: a pattern drawn in them carries no colour attribute
#: (naming the ground too keeps the renderer from picking a contrasting, possibly black, one).
NEUTRAL = ("gray", "silver")
SWAP_PATTERNS = (
    "checkerboard",
    "polka dots",
    "horizontal stripes",
    "vertical stripes",
    "diagonal stripes",
)
SWAP_SHAPES = ("circles", "squares", "triangles", "stars")
#: Colour hints from the firing images tested per probe batch.
MAX_COLOUR_HINTS = 2


@dataclass(frozen=True)
class Probe:
    """A concept to score as a probe and why."""

    concept: str
    reason: str
    drop: bool = False  # an attribute dropped (isolates the rest), not swapped


def probe_quota(iterations: int, share: float) -> int:
    """Probe iterations in a run of ``iterations`` proposal iterations."""
    if iterations <= 1 or share <= 0:
        return 0
    return min(iterations - 1, max(1, math.floor(iterations * share + 0.5)))


def is_probe_iteration(
    iteration: int, iterations: int, quota: int, done: int, last_was_probe: bool, clear: bool
) -> bool:
    """Whether proposal iteration ``iteration`` (1..iterations) scores probes.

    Probes start once the best is clear and alternate with proposals; when only as many
    iterations are left as probes are owed, every remaining one is a probe.
    """
    owed = quota - done
    if owed <= 0 or iteration > iterations:
        return False
    if iterations - iteration + 1 <= owed:
        return True
    return clear and not last_was_probe


def _words(terms: Sequence[ConceptTerm], kind: str) -> list[str]:
    return list(dict.fromkeys(t.words for t in terms if t.kind == kind))


def _form(terms: Sequence[ConceptTerm]) -> str:
    """The concept's main words: colours ("red and blue"), then pattern, shapes, other words."""
    pattern = [t.words for t in terms if t.kind == "pattern"]
    parts = [" and ".join(_words(terms, "colour")), pattern[-1] if pattern else ""]
    parts += _words(terms, "shape") + _words(terms, "word")
    return " ".join(p for p in parts if p)


def ablations(concept: str, avoid: frozenset[str], rng: random.Random) -> list[Probe]:
    """The concept with one attribute dropped or swapped (swaps avoid the atoms in ``avoid``)."""
    terms = concept_terms(concept)
    colours = [t for t in terms if t.kind == "colour"]
    shaped = [t for t in terms if t.kind in ("pattern", "shape")]
    rest = [t for t in terms if t.kind != "colour"]
    out: list[Probe] = []
    figure, ground = NEUTRAL
    if rest and not attributes(figure) <= attributes(concept):
        out.append(
            Probe(f"{figure} {_form(rest)} on {ground}", f"'{concept}' in colours of no hue",
                  drop=True)
        )
    if colours and shaped:
        plain = [t for t in terms if t.kind not in ("pattern", "shape")]
        out.append(Probe(_form(plain), f"'{concept}' without its pattern or shape", drop=True))
    if colours:
        options = [c for c in SWAP_COLOURS if not (attributes(c) & (avoid | attributes(concept)))]
        if options:
            colour = rng.choice(options)
            swapped = [ConceptTerm("", colour, "colour"), *rest]
            out.append(Probe(_form(swapped), f"'{concept}' with its colour swapped to {colour}"))
    kept = [t for t in terms if t.kind not in ("pattern", "shape")]
    pools = [("pattern", SWAP_PATTERNS), ("shape", SWAP_SHAPES)]
    for kind, pool in pools:
        if not any(t.kind == kind for t in terms) and (kind == "shape" or not colours):
            continue
        options = [p for p in pool if not (attributes(p) & (avoid | attributes(concept)))]
        if options:
            word = rng.choice(options)
            swapped = [*kept, ConceptTerm("", word, kind)]
            out.append(Probe(_form(swapped), f"'{concept}' with a {kind} swapped or added: {word}"))
    for term in terms:
        orientation = term.words.split()[0] if " " in term.words else ""
        if term.kind == "pattern" and orientation in ORIENTATIONS:
            other = rng.choice([o for o in ORIENTATIONS if o != orientation])
            words = term.words.replace(orientation, other, 1)
            swapped = [*colours, ConceptTerm("", words, "pattern")]
            out.append(Probe(_form(swapped), f"'{concept}' with {other} instead of {orientation}"))
    return out


def isolated_atom(concept: str) -> str | None:
    """The one attribute a concept shows alone, if it shows one (neutral colours aside).

    ``"cyan"`` and ``"gray polka dots on silver"`` isolate one atom; ``"cyan rings"`` does not.
    """
    atoms = set(attributes(concept))
    if len(atoms) > 1:
        atoms -= attributes(NEUTRAL[0])
    for atom in list(atoms):  # "vertical stripes" also names "stripes": one attribute
        atoms -= with_broader(frozenset({atom})) - {atom}
    return next(iter(atoms)) if len(atoms) == 1 else None


def _isolating_form(concept: str) -> str:
    """A single-attribute vocabulary concept drawn without hue unless it is a colour."""
    terms = concept_terms(concept)
    if any(t.kind == "colour" for t in terms):
        return concept
    figure, ground = NEUTRAL
    return f"{figure} {_form(terms)} on {ground}"


def unlike(
    vocabulary: Sequence[str],
    avoid: frozenset[str],
    scores: Sequence[ScoredConcept],
    rng: random.Random,
    isolate: bool = True,
) -> list[Probe]:
    """Concepts sharing no attribute with ``avoid``: untried single attributes first.

    With ``isolate`` (the best is clear, the search is for a second driver), first each
    attribute of the vocabulary never scored on its own, alone (a pattern in colours of no
    hue), those seen firing inside a mixture first (the best AUC of a scored concept holding
    it and nothing of ``avoid``): a driver seen only in "cyan rings" is tested as "cyan".
    Then (first, while the best is not clear) a greedy cover of the attributes no concept has
    named yet, which searches more of the vocabulary per probe.
    """
    alone = {isolated_atom(r.concept) for r in scores}
    evidence: dict[str, float] = {}
    for record in scores:
        if not attributes(record.concept) & avoid:
            for atom in attributes(record.concept):
                evidence[atom] = max(evidence.get(atom, 0.0), record.auc)
    options = [c for c in vocabulary if attributes(c) and not (attributes(c) & avoid)]
    rng.shuffle(options)
    singles: dict[str, str] = {}  # atom -> its plainest concept (its own name when listed)
    for concept in options if isolate else ():
        atom = isolated_atom(concept)
        if atom is None or atom in alone:
            continue
        plain = (normalise(concept) != atom_name(atom), len(concept))
        held = singles.get(atom)
        if held is None or plain < (normalise(held) != atom_name(atom), len(held)):
            singles[atom] = concept
    order = sorted(singles, key=lambda atom: -evidence.get(atom, 0.0))
    out = [Probe(_isolating_form(singles[a]), f"{atom_name(a)} alone, never tried on its own")
           for a in order]
    covered = set().union(*(attributes(r.concept) for r in scores), singles)
    while options:  # greedy: each next probe covers the most attributes not covered yet
        pick = max(options, key=lambda c: len(attributes(c) - covered))
        options.remove(pick)
        covered |= attributes(pick)
        out.append(Probe(pick, "unlike every strong concept so far"))
    return out


def interleave(first: Sequence[Probe], second: Sequence[Probe]) -> list[Probe]:
    """first[0], second[0], first[1], second[1], ... then the rest of the longer one."""
    out: list[Probe] = []
    for index in range(max(len(first), len(second))):
        out += [items[index] for items in (first, second) if index < len(items)]
    return out


def colour_tests(best: str, colours: Sequence[str]) -> list[Probe]:
    """Tests of the colours the firing images are made of (image-side hints, best first).

    Each hinted colour the best concept does not name: alone (a colour that fills the
    picture), and with the best concept's pattern or shapes in it (a unit that needs both).
    """
    terms = concept_terms(best)
    shaped = [t for t in terms if t.kind in ("pattern", "shape")]
    named = attributes(best)
    out: list[Probe] = []
    for colour in list(colours)[:MAX_COLOUR_HINTS]:
        if attributes(colour) & named:
            continue
        why = f"the images that fire are mostly {colour}"
        if shaped:
            combined = _form([ConceptTerm("", colour, "colour"), *shaped])
            out.append(Probe(combined, f"{why}: '{best}' in {colour}"))
        out.append(Probe(colour, f"{why}: {colour} alone", drop=True))
    return out


def plan_probes(
    scores: Mapping[str, ScoredConcept],
    control_mean: float,
    vocabulary: Sequence[str],
    is_new: Callable[[str], bool],
    seed: int,
    batch: int = PROBE_BATCH,
    colours: Sequence[str] = (),
) -> list[Probe]:
    """Up to ``batch`` new probes: colour hints, ablations of best and second driver, unlike.

    ``colours`` are colour families the firing images are rich in, most enriched first
    (:func:`line_core.analysis.image_colours.run_colour_hints`); they are tested first.
    """
    records = list(scores.values())
    if not records:
        return []
    rng = random.Random(seed)
    strength = strengths(records, control_mean)
    ranked = sorted(records, key=lambda r: (r.rank_key, strength[r.concept]), reverse=True)
    best = ranked[0]
    strong = [r for r in ranked if strength[r.concept] >= STRONG]
    avoid = frozenset().union(*(attributes(r.concept) for r in strong))
    clear = best.auc >= CLEAR_AUC
    # a best showing one attribute alone has nothing to separate: no ablations of it
    tests = ablations(best.concept, avoid, rng) if isolated_atom(best.concept) is None else []
    second = next(
        (
            r
            for r in ranked[1:]
            if (strength[r.concept] >= STRONG or r.auc >= SECOND_AUC)
            and attributes(r.concept)
            and not attributes(r.concept) & attributes(best.concept)
        ),
        None,
    )
    if second is not None:  # take turns, so the second driver is isolated early too
        tests = interleave(tests, ablations(second.concept, avoid, rng))
    tests.sort(key=lambda probe: not probe.drop)  # isolating tests first, then swaps
    tests = colour_tests(best.concept, colours) + tests
    others = unlike(vocabulary, avoid, records, rng, isolate=clear)
    chosen: list[Probe] = []
    seen: set[str] = set()

    def take(items: list[Probe], limit: int) -> None:
        for probe in items:
            key = normalise(probe.concept)
            if len(chosen) >= limit:
                return
            if key and key not in seen and is_new(probe.concept):
                seen.add(key)
                chosen.append(probe)

    take(tests, batch - 1)
    take(others, batch)
    take(tests, batch)
    return chosen
