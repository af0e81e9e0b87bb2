"""Concept text -> SceneSpec: tokenise, match lexicon phrases, split figure from background."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from line_core.generators.procedural.colours import MODIFIERS, RGB
from line_core.generators.procedural.patterns import BAND_COUNT_PATTERNS, ORIENTABLE_PATTERNS
from line_core.generators.procedural.scene import FillSpec, PatternSpec, SceneSpec, ShapeSpec
from line_core.generators.procedural.vocabulary import (
    LEXICON,
    LONGEST_PHRASE,
    MAX_COUNT,
    STOP_WORDS,
    Term,
    lookup_word,
)

_TOKEN = re.compile(r"[^\W_]+")
_SINGLE_SHAPE_SIZE = 0.5
_DEFAULT_PLURAL_COUNT = (4, 9)


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens (letters and digits of any script); punctuation is dropped."""
    return _TOKEN.findall(text.lower())


def match_terms(tokens: list[str]) -> list[Term]:
    """Greedy longest-phrase lexicon matching; unmatched tokens become ``unknown`` terms."""
    terms: list[Term] = []
    i = 0
    while i < len(tokens):
        for n in range(min(LONGEST_PHRASE, len(tokens) - i), 0, -1):
            phrase = " ".join(tokens[i : i + n])
            entry = LEXICON.get(phrase) if n > 1 else lookup_word(phrase)
            if entry is not None:
                terms.append(Term(entry[0], entry[1], phrase))
                i += n
                break
        else:
            terms.append(Term("unknown", None, tokens[i]))
            i += 1
    return terms


@dataclass
class _Part:
    """The terms of one clause ("red stars" / "a blue background") and how it was joined."""

    join: str = "start"
    terms: list[Term] = field(default_factory=list)
    background: bool = False

    def has(self, role: str) -> bool:
        return any(t.role == role for t in self.terms)


@dataclass
class _Bits:
    """What one side (figure or background) of the scene asks for."""

    colours: list[RGB] = field(default_factory=list)
    pattern: str | None = None
    shapes: list[tuple[str, bool]] = field(default_factory=list)
    size: float | None = None
    thickness: float = 1.0
    count: tuple[int, int] | None = None
    angles: tuple[float, ...] | None = None
    optional: dict[str, list[Term]] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)
    dangling: list[Term] = field(default_factory=list)

    def use(self, *roles: str) -> None:
        """Mark optional roles (size, count, ...) as rendered."""
        self.used.update(roles)

    def unused(self) -> list[Term]:
        """Terms that could not be rendered: explicit ones plus optional roles never used."""
        spare = [t for role, ts in self.optional.items() if role not in self.used for t in ts]
        return self.dangling + spare


def _split(terms: list[Term]) -> tuple[list[Term], list[Term]]:
    """Split terms into figure and background clauses using "on", "with" and "background"."""
    parts = [_Part()]
    for term in terms:
        if term.role == "connector":
            parts.append(_Part(join=term.value))
        else:
            parts[-1].terms.append(term)
    for index, part in enumerate(parts):
        part.background = part.has("background") or part.join == "on"
        if part.join == "with" and index and not part.background:
            left = parts[index - 1]
            if left.has("shape") and not part.has("shape"):
                left.terms.extend(part.terms)  # "a star with stripes": the star is striped
                part.terms = []
            else:
                left.background = True  # "white with black dots": white is the ground
    figure = [t for p in parts if not p.background for t in p.terms]
    ground = [t for p in parts if p.background for t in p.terms]
    return figure, ground


def _collect(terms: list[Term]) -> _Bits:
    bits = _Bits()
    pending: list[Term] = []
    for term in terms:
        if term.role == "modifier":
            pending.append(term)
            continue
        if term.role == "colour":
            for rgb in term.value:
                for modifier in pending:
                    rgb = MODIFIERS[modifier.value](rgb)
                bits.colours.append(rgb)
            pending = []
            continue
        bits.dangling.extend(pending)
        pending = []
        if term.role == "pattern":
            if bits.pattern is None:
                bits.pattern = term.value
            else:
                bits.dangling.append(term)  # one pattern per region
        elif term.role == "shape":
            bits.shapes.append(term.value)
            bits.optional.setdefault("shape", []).append(term)
        elif term.role in ("size", "thickness", "count", "orientation"):
            bits.optional.setdefault(term.role, []).append(term)
        elif term.role == "unknown":
            bits.dangling.append(term)
    bits.dangling.extend(pending)
    sizes = [t.value for t in bits.optional.get("size", [])]
    bits.size = sizes[-1] if sizes else None
    for term in bits.optional.get("thickness", []):
        bits.thickness *= term.value
    counts = [t.value for t in bits.optional.get("count", [])]
    if counts:
        low, high = sum(c[0] for c in counts), sum(c[1] for c in counts)
        bits.count = (min(low, MAX_COUNT), min(high, MAX_COUNT))
    angles = [t.value for t in bits.optional.get("orientation", [])]
    bits.angles = angles[-1] if angles else None
    return bits


def _pattern(bits: _Bits, inside_shapes: bool = False) -> PatternSpec | None:
    """The pattern a side asks for; sizes, counts and orientations go to shapes if any."""
    if bits.pattern is None:
        return None
    bits.use("thickness")
    if inside_shapes:
        return PatternSpec(kind=bits.pattern, scale=bits.thickness * 0.6)
    scale = bits.thickness * ((bits.size / 0.3) ** 0.6 if bits.size else 1.0)
    counted = bits.count is not None and bits.pattern in BAND_COUNT_PATTERNS
    orientable = bits.pattern in ORIENTABLE_PATTERNS
    bits.use("size", *(["count"] if counted else []), *(["orientation"] if orientable else []))
    return PatternSpec(
        kind=bits.pattern,
        angles=bits.angles if orientable else None,
        scale=scale,
        count=bits.count[1] if counted and bits.count else None,
    )


def _shapes(figure: _Bits, fill: FillSpec) -> ShapeSpec:
    kinds = tuple(kind for kind, _ in figure.shapes) or ("circle",)
    plural = any(p for _, p in figure.shapes)
    if figure.count is not None:
        count = figure.count
    elif plural:
        count = (max(_DEFAULT_PLURAL_COUNT[0], len(kinds)), _DEFAULT_PLURAL_COUNT[1])
    else:
        count = (len(kinds), len(kinds))
    size = figure.size
    if size is None and count == (1, 1):
        size = _SINGLE_SHAPE_SIZE
    figure.use("shape", "size", "count", "orientation")
    return ShapeSpec(kinds=kinds, count=count, size=size, fill=fill, angles=figure.angles)


def _assemble(figure: _Bits, ground: _Bits) -> SceneSpec:
    """Combine the figure and background clauses into a scene."""
    ground_pattern = _pattern(ground)
    background = FillSpec(colours=tuple(ground.colours), pattern=ground_pattern)
    if ground_pattern is None:
        background = FillSpec(ground=tuple(ground.colours))
    if figure.pattern == "polka dots" and figure.count is not None and not figure.shapes:
        figure.shapes, figure.pattern = [("circle", True)], None  # "three dots" are circles
        figure.size = figure.size or 0.14
    if figure.shapes:
        fill = FillSpec(colours=tuple(figure.colours), pattern=_pattern(figure, True))
        return SceneSpec(background=background, shapes=_shapes(figure, fill))
    pattern = _pattern(figure)
    if pattern is not None and ground_pattern is not None:
        overlay = FillSpec(colours=tuple(figure.colours), pattern=pattern)
        return SceneSpec(background=background, overlay=overlay)
    if pattern is not None:
        return SceneSpec(FillSpec(tuple(figure.colours), tuple(ground.colours), pattern))
    if figure.colours and (ground.colours or ground_pattern):
        fill = FillSpec(colours=tuple(figure.colours))  # "red on blue": a red blob on blue
        return SceneSpec(background=background, shapes=_shapes(figure, fill))
    if figure.colours:
        return SceneSpec(FillSpec(ground=tuple(figure.colours)))
    return SceneSpec(background=background)


@lru_cache(maxsize=4096)
def parse(text: str) -> SceneSpec:
    """Parse a concept into a SceneSpec; never raises, reports words it cannot render."""
    tokens = tokenize(text)
    figure_terms, ground_terms = _split(match_terms(tokens))
    figure, ground = _collect(figure_terms), _collect(ground_terms)
    scene = _assemble(figure, ground)
    renderable = {"colour", "pattern", "shape"}
    known = any(t.role in renderable for t in figure_terms + ground_terms)
    dangling = {id(t) for t in figure.unused() + ground.unused()}
    unrendered: list[str] = []
    for term in figure_terms + ground_terms:
        if id(term) in dangling or (not known and term.role != "stop"):
            unrendered.extend(w for w in term.text.split() if w not in STOP_WORDS)
    order = {word: i for i, word in reversed(list(enumerate(tokens)))}
    words = sorted(dict.fromkeys(unrendered), key=lambda w: order.get(w, len(order)))
    return SceneSpec(
        background=scene.background,
        overlay=scene.overlay,
        shapes=scene.shapes,
        unrendered=tuple(words),
        fallback=not known,
    )
