"""Word groups for concept mutations and novelty, and the ImageNet-1k class names.

The groups are small, hand-written lists: colours, patterns/shapes, orientations, sizes and
counts. Words of one *contrast group* (e.g. "horizontal" vs "vertical") mean visibly different
images even though a sentence embedding finds the phrases nearly identical.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

COLOURS: tuple[str, ...] = (
    "red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black", "white",
    "gray", "grey", "cyan", "magenta", "navy", "teal", "crimson", "gold", "golden", "silver",
    "violet", "turquoise", "beige", "maroon", "olive", "lime", "indigo", "scarlet", "amber",
)  # fmt: skip

#: Colours used when swapping (a readable subset; "grey" duplicates "gray").
SWAP_COLOURS: tuple[str, ...] = (
    "red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black", "white",
    "gray", "cyan",
)  # fmt: skip

PATTERNS: tuple[str, ...] = (
    "stripes", "lines", "dots", "polka dots", "checkerboard", "grid", "zigzag", "waves",
    "spiral", "rings", "circles", "squares", "triangles", "stars", "hexagons", "honeycomb",
    "tiles", "plaid", "crosshatch", "gradient", "spots", "diamonds",
)  # fmt: skip

ORIENTATIONS: tuple[str, ...] = ("horizontal", "vertical", "diagonal")
SIZES: tuple[str, ...] = ("tiny", "small", "large", "huge", "thin", "thick")
COUNTS: tuple[str, ...] = ("one", "two", "few", "many")

#: Modifier groups tried as additions, removals and swaps by the lexicon.
MODIFIER_GROUPS: dict[str, tuple[str, ...]] = {
    "orientation": ORIENTATIONS,
    "size": SIZES,
    "count": COUNTS,
}

#: Groups whose members contrast visibly (swapping one for another is a new concept).
CONTRAST_GROUPS: tuple[frozenset[str], ...] = (
    frozenset(COLOURS),
    frozenset(ORIENTATIONS),
    frozenset({"tiny", "small", "large", "huge"}),
    frozenset({"thin", "thick"}),
    frozenset(COUNTS),
)


def contrast_group(word: str) -> frozenset[str] | None:
    """The contrast group holding ``word`` (already lowercased), or None."""
    for group in CONTRAST_GROUPS:
        if word in group:
            return group
    return None


def _timm_info_dir() -> Path | None:
    spec = importlib.util.find_spec("timm")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "data" / "_info"


@lru_cache(maxsize=1)
def imagenet_class_names() -> tuple[str, ...]:
    """The first lemma of each ImageNet-1k class ("tench", "goldfish", ...), read offline.

    Uses ``line_core.targets.imagenet_classes`` when present, else reads timm's wheel files
    directly; returns an empty tuple when neither is available (the lexicon then relies on the
    generator's vocabulary and mutations).
    """
    try:
        from line_core.targets.imagenet_classes import imagenet_class_lemmas

        lemmas = imagenet_class_lemmas()
    except Exception:  # noqa: BLE001 - optional colleague module; fall back to the files
        lemmas = _read_lemmas_from_timm()
    return tuple(dict.fromkeys(lemma.split(",")[0].strip() for lemma in lemmas if lemma))


def _read_lemmas_from_timm() -> tuple[str, ...]:
    info = _timm_info_dir()
    if info is None or not (info / "imagenet_synsets.txt").exists():
        return ()
    synsets = (info / "imagenet_synsets.txt").read_text(encoding="utf-8").split()
    table: dict[str, str] = {}
    for line in (info / "imagenet_synset_to_lemma.txt").read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition("\t")
        table[key] = value.strip()
    return tuple(table.get(s, "") for s in synsets)
