"""What the procedural renderer offers: description, vocabulary, seed and control concepts."""

from __future__ import annotations

from line_core.generators.procedural.colours import COLOURS
from line_core.generators.procedural.patterns import PATTERNS
from line_core.generators.procedural.shapes import OUTLINES
from line_core.generators.procedural.vocabulary import SHAPE_WORDS

BASIC_COLOURS = ("red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black",
                 "white", "gray", "cyan")
_COMBO_PATTERNS = ("stripes", "polka dots", "checkerboard", "grid", "zigzag", "waves", "spiral",
                   "concentric rings", "honeycomb")
_COMBO_SHAPES = ("circles", "squares", "triangles", "stars", "hearts", "crosses", "rings",
                 "hexagons")
_SPREAD = ("red", "orange", "yellow", "lime", "green", "teal", "cyan", "sky blue", "blue", "navy",
           "purple", "magenta", "pink", "brown", "beige", "white", "black", "gray", "maroon",
           "olive")


def plural(shape: str) -> str:
    """The main plural word of a canonical shape ("cross" -> "crosses")."""
    return SHAPE_WORDS[shape][1][0]


def describe() -> str:
    """One paragraph for the proposer prompt: what the renderer can and cannot draw."""
    return (
        "The images come from an offline procedural renderer, not a photo generator: it draws "
        "flat synthetic pictures of colours, patterns and simple geometric shapes parsed from the "
        f"concept text, and cannot draw objects, animals, scenes or photographic textures. It "
        f"knows {len(COLOURS)} named colours (e.g. red, navy, crimson, teal, light blue, dark "
        "green, gold; modifiers like light, dark, pale, bright), "
        f"{len(PATTERNS)} patterns (horizontal, vertical or diagonal stripes, polka dots, "
        "checkerboard, grid, zigzag, waves, spiral, concentric rings, honeycomb, noise, marble, "
        f"crosshatch, gradient, plaid, bricks, sunburst, speckles) and {len(OUTLINES)} shapes "
        "(circle, square, triangle, star, hexagon, ring, cross, heart, diamond, crescent, arrow, "
        "...) with sizes (tiny, small, large, huge) and counts (one, two, a few, many, 7). It "
        "understands simple compositions such as 'red stripes on a blue background', 'yellow "
        "circles', 'green and white checkerboard', 'a large red star on black' or 'many small "
        "white stars on navy'. Good concepts are 1-4 words naming colours, patterns and shapes."
    )


def vocabulary() -> list[str]:
    """A few hundred phrases the renderer draws well: colours, patterns, shapes, combinations."""
    phrases = list(COLOURS)
    phrases += [f"{o} stripes" for o in ("horizontal", "vertical", "diagonal")]
    phrases += list(PATTERNS)
    for shape in OUTLINES:
        phrases += [shape, plural(shape)]
    phrases += [f"{c} {p}" for c in BASIC_COLOURS for p in _COMBO_PATTERNS]
    phrases += [f"{c} {s}" for c in BASIC_COLOURS for s in _COMBO_SHAPES]
    return list(dict.fromkeys(phrases))


def seed_concepts() -> list[str]:
    """About 30 diverse concepts (colours, patterns, shapes, compositions) for a first pool."""
    return [
        "red", "blue", "yellow", "green", "black and white", "horizontal stripes",
        "vertical stripes", "diagonal stripes", "polka dots", "checkerboard", "grid", "zigzag",
        "waves", "spiral", "concentric rings", "honeycomb", "marble", "gradient", "circles",
        "stars", "triangles", "one large circle", "many small squares",
        "red stripes on a blue background", "yellow circles", "green and white checkerboard",
        "a large red star on black", "purple plaid", "pink hearts", "white speckles on black",
    ]


def control_prompts() -> list[str]:
    """Sixty prompts spanning the renderer's distribution, balanced over colours/patterns/shapes."""
    spread, n = _SPREAD, len(_SPREAD)
    kinds = list(PATTERNS)
    counts = ("one large", "two", "many small", "three", "a few")
    prompts = [f"{spread[i % n]} and {spread[(i + 7) % n]} {p}" for i, p in enumerate(kinds)]
    for i, shape in enumerate(OUTLINES):
        count = counts[i % len(counts)]
        noun = shape if count == "one large" else plural(shape)
        colour, ground = spread[(i + 3) % n], spread[(i + 11) % n]
        prompts.append(f"{count} {colour} {noun} on a {ground} background")
    prompts += [kinds[(3 * i + 1) % len(kinds)] for i in range(10)]
    prompts += [spread[(3 * i + 2) % n] for i in range(8)]
    shape_names = list(OUTLINES)
    prompts += [
        f"{spread[(i + 9) % n]} {plural(shape_names[(2 * i + 5) % len(shape_names)])} on "
        f"{spread[(i + 16) % n]} {kinds[(5 * i + 2) % len(kinds)]}"
        for i in range(10)
    ]
    return list(dict.fromkeys(prompts))
