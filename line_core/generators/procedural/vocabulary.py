"""The words the procedural renderer understands, and the lexicon that maps phrases to terms."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from line_core.generators.procedural.colours import COLOUR_ALIASES, COLOURS, MODIFIERS

# canonical pattern -> words and phrases that name it (plural and adjective forms included)
PATTERN_WORDS: dict[str, tuple[str, ...]] = {
    "stripes": ("stripe", "stripes", "striped", "stripy", "stripey", "band", "bands", "banded",
                "line", "lines", "lined", "pinstripe", "pinstripes", "streaks", "bars"),
    "polka dots": ("polka dot", "polka dots", "polka dotted", "dot", "dots", "dotted", "spot",
                   "spots", "spotted", "spotty", "dotty"),
    "checkerboard": ("checkerboard", "checkerboards", "checker", "checkers", "checkered",
                     "checked", "check", "checks", "chequered", "chequerboard", "chessboard"),
    "grid": ("grid", "grids", "lattice", "mesh", "tile", "tiles", "tiled", "graph paper"),
    "zigzag": ("zigzag", "zigzags", "zig zag", "zig zags", "chevron", "chevrons", "jagged"),
    "waves": ("wave", "waves", "wavy", "ripples", "rippled", "undulating", "squiggly"),
    "spiral": ("spiral", "spirals", "swirl", "swirls", "swirly", "vortex"),
    "concentric rings": ("concentric rings", "concentric circles", "concentric", "target",
                         "bullseye", "bulls eye"),
    "honeycomb": ("honeycomb", "honeycombs", "hexagonal grid", "hex grid", "beehive",
                  "hexagonal tiles"),
    "noise": ("noise", "noisy", "static", "grainy", "grain", "mottled", "clouds", "cloudy"),
    "marble": ("marble", "marbled", "veined", "veins"),
    "crosshatch": ("crosshatch", "crosshatched", "crosshatching", "cross hatch", "cross hatched",
                   "cross hatching", "hatch", "hatched", "hatching"),
    "gradient": ("gradient", "gradients", "fade", "faded", "fading", "ombre", "blend"),
    "plaid": ("plaid", "tartan", "gingham"),
    "bricks": ("brick", "bricks", "brickwork", "brick wall", "masonry"),
    "sunburst": ("sunburst", "rays", "radial", "pinwheel", "starburst"),
    "speckles": ("speckle", "speckles", "speckled", "flecks", "flecked", "freckles", "sprinkles",
                 "confetti"),
}

# canonical shape -> (singular words, plural words)
SHAPE_WORDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "circle": (("circle", "disc", "disk", "ball", "sphere", "blob"),
               ("circles", "discs", "disks", "balls", "spheres", "blobs")),
    "square": (("square", "block", "box", "cube"), ("squares", "blocks", "boxes", "cubes")),
    "triangle": (("triangle", "pyramid"), ("triangles", "pyramids")),
    "star": (("star",), ("stars",)),
    "hexagon": (("hexagon",), ("hexagons",)),
    "pentagon": (("pentagon",), ("pentagons",)),
    "octagon": (("octagon",), ("octagons",)),
    "diamond": (("diamond", "rhombus", "lozenge"), ("diamonds", "rhombuses", "lozenges")),
    "ring": (("ring", "donut", "doughnut", "hoop", "annulus", "loop"),
             ("rings", "donuts", "doughnuts", "hoops", "loops")),
    "cross": (("cross", "plus"), ("crosses", "pluses")),
    "heart": (("heart",), ("hearts",)),
    "crescent": (("crescent", "moon"), ("crescents", "moons")),
    "rectangle": (("rectangle", "oblong"), ("rectangles", "oblongs")),
    "ellipse": (("ellipse", "oval", "egg"), ("ellipses", "ovals", "eggs")),
    "arrow": (("arrow",), ("arrows",)),
    "shape": (("shape", "geometric shape", "polygon"), ("shapes", "geometric shapes", "polygons")),
}
"""``"shape"`` is the generic word: each drawn shape then takes a random kind."""

SIZE_WORDS: dict[str, float] = {
    **dict.fromkeys(("tiny", "minuscule", "teeny", "miniature"), 0.07),
    **dict.fromkeys(("small", "little", "mini", "smaller"), 0.14),
    **dict.fromkeys(("medium", "midsize", "moderate", "average"), 0.3),
    **dict.fromkeys(("large", "big", "bigger", "larger"), 0.55),
    **dict.fromkeys(("huge", "giant", "enormous", "massive", "gigantic", "oversized"), 0.85),
}
"""Size word -> shape diameter as a fraction of the image side."""

THICKNESS_WORDS: dict[str, float] = {
    **dict.fromkeys(("thin", "narrow", "fine", "skinny", "dense", "tight"), 0.55),
    **dict.fromkeys(("thick", "wide", "broad", "bold", "chunky", "fat", "sparse"), 1.7),
}
"""Pattern scale multipliers (period of stripes, cell of grids, size of dots)."""

_NUMBERS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
            "fourteen fifteen sixteen seventeen eighteen nineteen twenty").split()
COUNT_WORDS: dict[str, tuple[int, int]] = {
    **{word: (n, n) for n, word in enumerate(_NUMBERS) if n},
    **dict.fromkeys(("single", "lone", "solitary", "sole"), (1, 1)),
    **dict.fromkeys(("pair", "couple", "double", "twin", "twins"), (2, 2)),
    "triple": (3, 3), "dozen": (12, 12), "thirty": (30, 30), "forty": (40, 40),
    **dict.fromkeys(("few",), (2, 4)),
    **dict.fromkeys(("some", "several", "various"), (4, 7)),
    **dict.fromkeys(("many", "lots", "numerous", "multiple", "countless", "dozens", "plenty",
                     "loads", "scattered", "crowd", "hundreds"), (10, 18)),
}
"""Count word -> (lowest, highest) number of shapes; a seed picks one in the range."""
MAX_COUNT = 64

ORIENTATION_WORDS: dict[str, tuple[float, ...]] = {
    **dict.fromkeys(("horizontal", "horizontally", "level", "landscape"), (0.0,)),
    **dict.fromkeys(("vertical", "vertically", "upright", "portrait"), (90.0,)),
    **dict.fromkeys(("diagonal", "diagonally", "slanted", "slanting", "oblique", "tilted",
                     "angled", "sloped"), (45.0, 135.0)),
}
"""Orientation word -> the angles (degrees) a seed chooses from; 0 = horizontal bands."""

MULTICOLOUR_WORDS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("rainbow", "colourful", "colorful", "multicoloured", "multicolored",
                     "multicolour", "multicolor"),
                    ("red", "orange", "yellow", "green", "blue", "purple")),
}

CONNECTOR_WORDS: dict[str, str] = {
    **dict.fromkeys(("on", "over", "against", "upon", "atop", "onto", "across"), "on"),
    "with": "with",
}
BACKGROUND_WORDS = ("background", "backgrounds", "backdrop", "backdrops")
PLAIN_WORDS = ("solid", "plain", "uniform", "flat", "blank", "monochrome", "pure")

STOP_WORDS: frozenset[str] = frozenset(
    """a an the of on with and or photo photograph photography realistic image images picture
    pictures in at to by for from is are it its this that close up closeup shot view pattern
    patterns patterned texture textures textured design designs print printed style styled
    colour color colours colors coloured colored abstract drawing painting render rendering very
    made filled covered full field surface lots some s""".split()
)
"""Words that never count as unrendered."""


@dataclass(frozen=True)
class Term:
    """One matched phrase of a concept: its role, value and original words."""

    role: str
    value: Any
    text: str


def _build_lexicon() -> dict[str, tuple[str, Any]]:
    lexicon: dict[str, tuple[str, Any]] = {}
    for word in STOP_WORDS:
        lexicon[word] = ("stop", None)
    lexicon.update({w: ("count", c) for w, c in COUNT_WORDS.items()})
    lexicon.update({w: ("size", s) for w, s in SIZE_WORDS.items()})
    lexicon.update({w: ("thickness", t) for w, t in THICKNESS_WORDS.items()})
    lexicon.update({w: ("orientation", a) for w, a in ORIENTATION_WORDS.items()})
    lexicon.update({w: ("modifier", w) for w in MODIFIERS})
    lexicon.update({w: ("connector", c) for w, c in CONNECTOR_WORDS.items()})
    lexicon.update(dict.fromkeys(BACKGROUND_WORDS, ("background", None)))
    lexicon.update(dict.fromkeys(PLAIN_WORDS, ("plain", None)))
    for kind, (singular, plural) in SHAPE_WORDS.items():
        lexicon.update(dict.fromkeys(singular, ("shape", (kind, False))))
        lexicon.update(dict.fromkeys(plural, ("shape", (kind, True))))
    for kind, words in PATTERN_WORDS.items():
        lexicon.update(dict.fromkeys(words, ("pattern", kind)))
    for word, names in MULTICOLOUR_WORDS.items():
        lexicon[word] = ("colour", tuple(COLOURS[n] for n in names))
    for alias, name in COLOUR_ALIASES.items():
        lexicon[alias] = ("colour", (COLOURS[name],))
    for name, rgb in COLOURS.items():
        lexicon[name] = ("colour", (rgb,))
    return lexicon


LEXICON: dict[str, tuple[str, Any]] = _build_lexicon()
"""Phrase (1-4 words) -> (role, value); colours win over other readings of the same phrase."""
LONGEST_PHRASE = max(len(phrase.split()) for phrase in LEXICON)


def lookup_word(word: str) -> tuple[str, Any] | None:
    """Role and value of one word, also trying colour plurals ("reds") and "-ish" forms."""
    if word in LEXICON:
        return LEXICON[word]
    if word.isdecimal():
        number = int(word) if len(word) <= 6 else MAX_COUNT
        return ("count", (min(number, MAX_COUNT),) * 2) if number > 0 else ("stop", None)
    candidates = [word[:-1]] if word.endswith("s") else []
    if word.endswith("ish"):
        base = word[:-3]
        candidates += [base, base + "e", base[:-1] if base[-2:-1] == base[-1:] else base]
    for base in candidates:
        entry = LEXICON.get(base)
        if entry is not None and entry[0] == "colour":
            return entry
    return None
