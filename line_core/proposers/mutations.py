"""Word-level mutations of a concept: colour and pattern swaps, modifiers, combinations.

Each mutation carries a short label of what changed ("colour swap", "added 'diagonal'"), which
the lexicon proposer puts into its reasoning.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from line_core.proposers.wordlists import (
    COLOURS,
    MODIFIER_GROUPS,
    PATTERNS,
    SWAP_COLOURS,
)

MAX_WORDS = 4
_COLOUR_SET = frozenset(COLOURS)
_PATTERN_WORDS = tuple(p for p in PATTERNS if " " not in p)
_PATTERN_SET = frozenset(_PATTERN_WORDS)


@dataclass(frozen=True)
class Mutation:
    """A mutated concept, the concept it came from, and what changed."""

    concept: str
    parent: str
    change: str


def _words(concept: str) -> list[str]:
    return concept.lower().split()


def _join(words: Sequence[str]) -> str | None:
    words = [w for w in words if w]
    if not words or len(words) > MAX_WORDS:
        return None
    return " ".join(words)


#: English adjective order for the words we insert: "many small red vertical stripes".
_ORDER = ("count", "size", "colour", "orientation")


def _word_rank(word: str) -> int | None:
    if word in _COLOUR_SET:
        return _ORDER.index("colour")
    for name, group in MODIFIER_GROUPS.items():
        if word in group:
            return _ORDER.index(name)
    return None


def _insertion_index(words: Sequence[str], group_name: str) -> int:
    """Where a modifier of a group goes: before the first word that should follow it."""
    rank = _ORDER.index(group_name)
    for i, word in enumerate(words):
        other = _word_rank(word)
        if other is None or other > rank:
            return i
    return max(len(words) - 1, 0)


def colour_swaps(concept: str) -> list[Mutation]:
    """Replace the (first) colour word with every other basic colour, or add one if none."""
    words = _words(concept)
    index = next((i for i, w in enumerate(words) if w in _COLOUR_SET), None)
    if index is None:  # no colour yet: add one ("horizontal stripes" -> "yellow horizontal ...")
        at = _insertion_index(words, "colour")
        added = [_join([*words[:at], colour, *words[at:]]) for colour in SWAP_COLOURS]
        return [Mutation(t, concept, f"added colour '{t.split()[at]}'") for t in added if t]
    out = []
    for colour in SWAP_COLOURS:
        if colour != words[index]:
            text = _join([*words[:index], colour, *words[index + 1 :]])
            if text:
                out.append(Mutation(text, concept, f"colour swap {words[index]} -> {colour}"))
    return out


def pattern_swaps(concept: str, patterns: Sequence[str] = _PATTERN_WORDS) -> list[Mutation]:
    """Replace the (last) pattern or shape word with other patterns."""
    words = _words(concept)
    index = next((i for i in reversed(range(len(words))) if words[i] in _PATTERN_SET), None)
    if index is None:
        return []
    out = []
    for pattern in patterns:
        if pattern != words[index]:
            text = _join([*words[:index], pattern, *words[index + 1 :]])
            if text:
                out.append(Mutation(text, concept, f"pattern swap {words[index]} -> {pattern}"))
    return out


def modifier_changes(concept: str) -> list[Mutation]:
    """Add, remove or swap modifiers (orientation, size, count) before the head noun."""
    words = _words(concept)
    out: list[Mutation] = []
    for name, group in MODIFIER_GROUPS.items():
        present = [i for i, w in enumerate(words) if w in group]
        if present:
            i = present[0]
            removed = _join(words[:i] + words[i + 1 :])
            if removed:
                out.append(Mutation(removed, concept, f"removed '{words[i]}'"))
            for other in group:
                if other != words[i]:
                    text = _join([*words[:i], other, *words[i + 1 :]])
                    if text:
                        out.append(Mutation(text, concept, f"swapped '{words[i]}' -> '{other}'"))
        elif len(words) < MAX_WORDS:
            at = _insertion_index(words, name)
            for modifier in group:
                text = _join([*words[:at], modifier, *words[at:]])
                if text:
                    out.append(Mutation(text, concept, f"added '{modifier}'"))
    return out


def combinations(first: str, second: str) -> list[Mutation]:
    """Combine the top two concepts: the colour of one with the rest of the other."""
    a, b = _words(first), _words(second)
    out: list[Mutation] = []
    colour_a = next((w for w in a if w in _COLOUR_SET), None)
    colour_b = next((w for w in b if w in _COLOUR_SET), None)
    rest_a = [w for w in a if w not in _COLOUR_SET]
    rest_b = [w for w in b if w not in _COLOUR_SET]
    parent = f"{first}' + '{second}"
    for colour, rest in ((colour_a, rest_b), (colour_b, rest_a)):
        if colour and rest:
            at = _insertion_index(rest, "colour")
            text = _join([*rest[:at], colour, *rest[at:]])
            if text:
                out.append(Mutation(text, parent, "combined colour and pattern"))
    if colour_a and colour_b and colour_a != colour_b and rest_a:
        text = _join([colour_a, "and", colour_b, *rest_a])
        if text:
            out.append(Mutation(text, parent, "combined both colours"))
    return out


def mutate(concepts: Sequence[str], patterns: Sequence[str] = _PATTERN_WORDS) -> list[Mutation]:
    """Mutations of the given concepts (best first) plus combinations of the top two.

    Every concept gets colour swaps and modifier changes; the best also gets pattern swaps.
    """
    out: list[Mutation] = []
    for rank, concept in enumerate(concepts):
        out += colour_swaps(concept) + modifier_changes(concept)
        if rank == 0:  # pattern swaps only for the best (they are the most numerous)
            out += pattern_swaps(concept, patterns)
    if len(concepts) >= 2:
        out += combinations(concepts[0], concepts[1])
    seen: set[str] = set()
    unique = []
    for mutation in out:
        if mutation.concept not in seen and mutation.concept not in concepts:
            seen.add(mutation.concept)
            unique.append(mutation)
    return unique


def generalisations(concepts: Sequence[str]) -> list[Mutation]:
    """Candidate summaries of the top concepts: their shared words, alone or with a noun."""
    word_lists = [_words(c) for c in concepts if c.strip()]
    if not word_lists:
        return []
    counts: dict[str, int] = {}
    for words in word_lists:
        for w in dict.fromkeys(words):
            counts[w] = counts.get(w, 0) + 1
    shared = [w for w, n in counts.items() if n >= 2]
    parent = "' + '".join(concepts)
    out: list[Mutation] = []
    colours = [w for w in shared if w in _COLOUR_SET]
    others = [w for w in shared if w not in _COLOUR_SET]
    if colours:
        for noun in ("pattern", "shapes", "texture"):
            out.append(Mutation(f"{colours[0]} {noun}", parent, f"shared colour '{colours[0]}'"))
        out.append(Mutation(colours[0], parent, f"shared colour '{colours[0]}'"))
    for word in others:
        out.append(Mutation(word, parent, f"shared word '{word}'"))
        if word in _PATTERN_SET:
            out.append(Mutation(f"{word} pattern", parent, f"shared pattern '{word}'"))
    if len(shared) >= 2 and len(shared) <= MAX_WORDS:
        out.append(Mutation(" ".join(shared), parent, "all shared words"))
    return out
