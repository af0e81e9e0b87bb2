"""SceneSpec + seed -> RGB image: resolve palettes, paint pattern fields, composite shapes."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import numpy as np
from PIL import Image

from line_core.concepts import seed_key
from line_core.generators.procedural import patterns, shapes
from line_core.generators.procedural.colours import NEUTRAL, RGB, VIVID, jitter, pick_contrasting
from line_core.generators.procedural.scene import FillSpec, PatternSpec, SceneSpec

_ANY = VIVID + NEUTRAL


def rng_for(text: str, seed: int | str) -> np.random.Generator:
    """A generator seeded from the normalised text and the seed (stable across processes)."""
    key = seed_key(text) + "\x1f" + str(seed)
    return np.random.default_rng(int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big"))


def _style(fill: FillSpec) -> str | None:
    return patterns.PATTERNS[fill.pattern.kind].style if fill.pattern else None


def palette(fill: FillSpec, rng: np.random.Generator, avoid: list[RGB]) -> list[RGB]:
    """Named colours of a fill, completed with seed-chosen contrasting ones (ground first)."""
    style = _style(fill)
    named = list(fill.ground) + list(fill.colours)
    if style == "figure":
        ground = fill.ground[0] if fill.ground else None
        if ground is None:
            choices = NEUTRAL if fill.colours else _ANY
            ground = pick_contrasting(rng, choices, list(fill.colours) + avoid)
        figures = list(fill.colours) or [pick_contrasting(rng, _ANY, [ground, *avoid])]
        return [ground, *figures]
    if style is None and not named:
        return [pick_contrasting(rng, _ANY, avoid, minimum=150.0)]
    choices = NEUTRAL if named else _ANY
    while style is not None and len(named) < 2:
        named.append(pick_contrasting(rng, choices, named + avoid, minimum=150.0))
    return named


def paint(field: np.ndarray, style: str, colours: list[RGB]) -> np.ndarray:
    """Colour a pattern field (see ``patterns`` for the three styles); returns (S, S, 3)."""
    table = np.asarray(colours, dtype=np.float32)
    n = len(table)
    if style == "banded":
        return table[np.mod(field, n)]
    if style == "figure":
        return table[np.where(field == 0, 0, 1 + np.mod(field - 1, max(1, n - 1)))]
    position = np.clip(field, 0.0, 1.0) * (n - 1)
    low = np.minimum(np.floor(position).astype(np.int32), max(0, n - 2))
    frac = (position - low)[..., None]
    high = np.minimum(low + 1, n - 1)
    return table[low] * (1 - frac) + table[high] * frac


def _fill_image(fill: FillSpec, rng: np.random.Generator, size: int, colours: list[RGB]):
    """Paint a whole canvas with a fill; returns the image and the raw field (or None)."""
    c = patterns.canvas(size)
    pattern = fill.pattern
    if pattern is None and len(colours) == 1:
        return np.broadcast_to(np.asarray(colours[0], np.float32), (size, size, 3)), None
    if pattern is None:
        pattern = PatternSpec("halves", count=len(colours))
        field = patterns.halves(c, rng, pattern)
        return paint(field, "banded", colours), field
    pattern = replace(pattern, palette_size=len(colours))
    field = patterns.PATTERNS[pattern.kind].field(c, rng, pattern)
    return paint(field, patterns.PATTERNS[pattern.kind].style, colours), field


def _figure_mask(field: np.ndarray, style: str) -> np.ndarray:
    if style == "banded":
        return (np.mod(field, 2) == 1).astype(np.float32)
    if style == "figure":
        return (field > 0).astype(np.float32)
    return (field > 0.5).astype(np.float32)


def _composite(base: np.ndarray, top: np.ndarray, mask: np.ndarray) -> np.ndarray:
    alpha = mask[..., None]
    return base * (1 - alpha) + top * alpha


def _fallback_fill(text: str) -> FillSpec:
    """A noise texture whose colours depend only on the (unrenderable) text."""
    rng = rng_for(text, "fallback")
    first = pick_contrasting(rng, _ANY, [])
    second = pick_contrasting(rng, _ANY, [first])
    scale = float(rng.uniform(0.6, 1.6))
    return FillSpec(colours=(first, second), pattern=PatternSpec("noise", scale=scale))


def render(scene: SceneSpec, text: str, seed: int, size: int = 224) -> Image.Image:
    """Render a parsed scene for one seed; deterministic for (text, seed, size)."""
    rng = rng_for(text, seed)
    background = _fallback_fill(text) if scene.fallback else scene.background
    named = [*(scene.shapes.fill.colours if scene.shapes else ()),
             *(scene.overlay.colours if scene.overlay else ())]
    colours = [jitter(c, rng) for c in palette(background, rng, named)]
    image, _ = _fill_image(background, rng, size, colours)
    if scene.overlay is not None and scene.overlay.pattern is not None:
        overlay = scene.overlay
        figure = [jitter(c, rng) for c in overlay.colours] or [pick_contrasting(rng, _ANY, colours)]
        fill = FillSpec(pattern=overlay.pattern)
        top, field = _fill_image(fill, rng, size, [colours[0], *figure])
        style = patterns.PATTERNS[overlay.pattern.kind].style
        image = _composite(image, top, _figure_mask(field, style))
    if scene.shapes is not None:
        image = _draw_shapes(image, scene, rng, size, colours)
    return Image.fromarray(np.clip(image + 0.5, 0, 255).astype(np.uint8))


def _draw_shapes(
    image: np.ndarray, scene: SceneSpec, rng: np.random.Generator, size: int, ground: list[RGB]
) -> np.ndarray:
    spec = scene.shapes
    assert spec is not None
    count = int(rng.integers(spec.count[0], spec.count[1] + 1))
    fill = spec.fill
    if fill.pattern is None:
        figures = list(fill.colours) or [pick_contrasting(rng, _ANY, ground)]
        tops = [np.asarray(jitter(c, rng), np.float32) for c in figures]
    else:
        colours = [jitter(c, rng) for c in palette(fill, rng, ground)]
        tops = [_fill_image(fill, rng, size, colours)[0]]
    placed = shapes.place(rng, size, spec.kinds, count, spec.size, spec.angles, len(tops))
    for top, mask in zip(tops, shapes.masks(size, placed, len(tops)), strict=True):
        image = _composite(image, np.broadcast_to(top, image.shape), mask)
    return image
