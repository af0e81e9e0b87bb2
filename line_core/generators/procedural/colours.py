"""Named colours (CSS/X11 plus common extras), colour modifiers and colour utilities."""

from __future__ import annotations

import colorsys
from collections.abc import Callable, Sequence

import numpy as np

RGB = tuple[int, int, int]

# CSS/X11 names written as words ("dark slate gray"), then common non-CSS names.
_TABLE = """
alice blue F0F8FF; antique white FAEBD7; aqua 00FFFF; aquamarine 7FFFD4; azure F0FFFF
beige F5F5DC; bisque FFE4C4; black 000000; blanched almond FFEBCD; blue 0000FF
blue violet 8A2BE2; brown A52A2A; burlywood DEB887; cadet blue 5F9EA0; chartreuse 7FFF00
chocolate D2691E; coral FF7F50; cornflower blue 6495ED; cornsilk FFF8DC; crimson DC143C
cyan 00FFFF; dark blue 00008B; dark cyan 008B8B; dark goldenrod B8860B; dark gray A9A9A9
dark green 006400; dark khaki BDB76B; dark magenta 8B008B; dark olive green 556B2F
dark orange FF8C00; dark orchid 9932CC; dark red 8B0000; dark salmon E9967A
dark sea green 8FBC8F; dark slate blue 483D8B; dark slate gray 2F4F4F; dark turquoise 00CED1
dark violet 9400D3; deep pink FF1493; deep sky blue 00BFFF; dim gray 696969
dodger blue 1E90FF; firebrick B22222; floral white FFFAF0; forest green 228B22
fuchsia FF00FF; gainsboro DCDCDC; ghost white F8F8FF; gold FFD700; goldenrod DAA520
gray 808080; green 1EA01E; green yellow ADFF2F; honeydew F0FFF0; hot pink FF69B4
indian red CD5C5C; indigo 4B0082; ivory FFFFF0; khaki F0E68C; lavender E6E6FA
lavender blush FFF0F5; lawn green 7CFC00; lemon chiffon FFFACD; light blue ADD8E6
light coral F08080; light cyan E0FFFF; light goldenrod yellow FAFAD2; light gray D3D3D3
light green 90EE90; light pink FFB6C1; light salmon FFA07A; light sea green 20B2AA
light sky blue 87CEFA; light slate gray 778899; light steel blue B0C4DE
light yellow FFFFE0; lime 00FF00; lime green 32CD32; linen FAF0E6; magenta FF00FF
maroon 800000; medium aquamarine 66CDAA; medium blue 0000CD; medium orchid BA55D3
medium purple 9370DB; medium sea green 3CB371; medium slate blue 7B68EE
medium spring green 00FA9A; medium turquoise 48D1CC; medium violet red C71585
midnight blue 191970; mint cream F5FFFA; misty rose FFE4E1; moccasin FFE4B5
navajo white FFDEAD; navy 000080; old lace FDF5E6; olive 808000; olive drab 6B8E23
orange FFA500; orange red FF4500; orchid DA70D6; pale goldenrod EEE8AA; pale green 98FB98
pale turquoise AFEEEE; pale violet red DB7093; papaya whip FFEFD5; peach puff FFDAB9
peru CD853F; pink FFC0CB; plum DDA0DD; powder blue B0E0E6; purple 800080
rebecca purple 663399; red FF0000; rosy brown BC8F8F; royal blue 4169E1
saddle brown 8B4513; salmon FA8072; sandy brown F4A460; sea green 2E8B57; seashell FFF5EE
sienna A0522D; silver C0C0C0; sky blue 87CEEB; slate blue 6A5ACD; slate gray 708090
snow FFFAFA; spring green 00FF7F; steel blue 4682B4; tan D2B48C; teal 008080
thistle D8BFD8; tomato FF6347; turquoise 40E0D0; violet EE82EE; wheat F5DEB3
white FFFFFF; white smoke F5F5F5; yellow FFFF00; yellow green 9ACD32
amber FFBF00; apricot FBCEB1; aubergine 614051; baby blue 89CFF0; baby pink F4C2C2
blood red 8A0303; brass B5A642; brick red CB4154; bronze CD7F32; burgundy 800020
cerulean 007BA7; charcoal 36454F; cherry DE3163; cobalt 0047AB; copper B87333
cream FFFDD0; denim 1560BD; emerald 50C878; jade 00A86B; lemon FFF44F; lilac C8A2C8
mahogany C04000; mauve E0B0FF; mint 98FF98; mustard FFDB58; navy blue 000080
neon green 39FF14; neon pink FF6EC7; ochre CC7722; off white FAF9F6; olive green 6B8E23
peach FFE5B4; pearl EAE0C8; periwinkle CCCCFF; platinum E5E4E2; rose FF007F
royal purple 7851A9; ruby E0115F; rust B7410E; sand C2B280; sapphire 0F52BA
scarlet FF2400; sepia 704214; taupe 483C32; ultramarine 3F00FF; vermilion E34234
"""


def _parse_table(table: str) -> dict[str, RGB]:
    colours: dict[str, RGB] = {}
    for entry in table.replace("\n", ";").split(";"):
        if entry.strip():
            name, hex_code = entry.strip().rsplit(" ", 1)
            colours[name] = (int(hex_code[0:2], 16), int(hex_code[2:4], 16), int(hex_code[4:6], 16))
    return colours


COLOURS: dict[str, RGB] = _parse_table(_TABLE)
"""Canonical colour names (lower case, words separated by spaces) -> RGB."""


def _aliases(colours: dict[str, RGB]) -> dict[str, str]:
    """Alternative spellings: grey/gray, "lightblue" for "light blue", "golden" for "gold"."""
    aliases = {"golden": "gold", "silvery": "silver", "violet red": "medium violet red"}
    for name in colours:
        for variant in {name.replace("gray", "grey"), name.replace(" ", "")}:
            if variant != name:
                aliases.setdefault(variant, name)
        aliases.setdefault(name.replace("gray", "grey").replace(" ", ""), name)
    return {a: n for a, n in aliases.items() if a not in colours}


COLOUR_ALIASES: dict[str, str] = _aliases(COLOURS)


def _mix(rgb: RGB, other: RGB, amount: float) -> RGB:
    return tuple(round(a + (b - a) * amount) for a, b in zip(rgb, other, strict=True))  # type: ignore[return-value]


def _saturate(rgb: RGB, amount: float, value: float = 1.0) -> RGB:
    h, s, v = colorsys.rgb_to_hsv(*(c / 255 for c in rgb))
    r, g, b = colorsys.hsv_to_rgb(h, min(1.0, s * amount), min(1.0, v * value))
    return (round(r * 255), round(g * 255), round(b * 255))


MODIFIERS: dict[str, Callable[[RGB], RGB]] = {
    "light": lambda c: _mix(c, (255, 255, 255), 0.45),
    "pale": lambda c: _mix(c, (255, 255, 255), 0.6),
    "pastel": lambda c: _mix(c, (255, 255, 255), 0.5),
    "dark": lambda c: _mix(c, (0, 0, 0), 0.45),
    "deep": lambda c: _saturate(_mix(c, (0, 0, 0), 0.25), 1.2),
    "bright": lambda c: _saturate(c, 1.15, 1.25),
    "vivid": lambda c: _saturate(c, 1.4, 1.2),
    "neon": lambda c: _saturate(c, 2.0, 2.0),
    "dull": lambda c: _saturate(c, 0.55, 0.85),
    "muted": lambda c: _saturate(c, 0.5, 0.9),
}
"""Words that modify the colour right after them ("light crimson", "dark teal")."""

VIVID: tuple[str, ...] = (
    "red", "orange", "yellow", "green", "cyan", "blue", "purple", "magenta", "pink", "brown",
    "lime", "teal", "navy", "crimson", "gold", "sky blue", "forest green", "maroon", "violet",
)
NEUTRAL: tuple[str, ...] = ("white", "black", "light gray", "dark gray", "ivory", "charcoal")


def colour_distance(a: RGB, b: RGB) -> float:
    """A cheap perceptual RGB distance ("redmean" weighting), 0..~765."""
    mean_r = (a[0] + b[0]) / 2
    dr, dg, db = (a[0] - b[0]), (a[1] - b[1]), (a[2] - b[2])
    weights = (2 + mean_r / 256, 4.0, 2 + (255 - mean_r) / 256)
    return float(np.sqrt(weights[0] * dr * dr + weights[1] * dg * dg + weights[2] * db * db))


def luma(rgb: RGB) -> float:
    """Perceived brightness 0..255 (Rec. 601 weights)."""
    return 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]


def pick_contrasting(
    rng: np.random.Generator,
    names: Sequence[str],
    against: Sequence[RGB],
    minimum: float = 220.0,
    brightness: float = 60.0,
) -> RGB:
    """A random colour among ``names`` that differs from every colour in ``against``.

    It must be ``minimum`` apart in colour and ``brightness`` apart in luma; failing that,
    only far in colour; failing that, the farthest candidate.
    """
    candidates = [COLOURS[n] for n in names]
    if not against:
        return candidates[int(rng.integers(len(candidates)))]
    gaps = [min(colour_distance(c, a) for a in against) for c in candidates]
    lumas = [min(abs(luma(c) - luma(a)) for a in against) for c in candidates]
    for need_luma in (brightness, 0.0):
        far = [
            c
            for c, gap, lum in zip(candidates, gaps, lumas, strict=True)
            if gap >= minimum and lum >= need_luma
        ]
        if far:
            return far[int(rng.integers(len(far)))]
    return candidates[int(np.argmax(gaps))]


def jitter(rgb: RGB, rng: np.random.Generator, strength: float = 1.0) -> RGB:
    """A small random HSV perturbation that keeps the colour's name (hue +-0.015)."""
    h, s, v = colorsys.rgb_to_hsv(*(c / 255 for c in rgb))
    dh, ds, dv, dv_add = rng.uniform(-1.0, 1.0, size=4) * strength
    h = (h + 0.015 * dh) % 1.0
    s = min(1.0, max(0.0, s * (1 + 0.1 * ds)))
    v = min(1.0, max(0.0, v * (1 + 0.07 * dv) + 0.03 * dv_add))
    r, g, b = colorsys.hsv_to_rgb(h, s, v)
    return (round(r * 255), round(g * 255), round(b * 255))
