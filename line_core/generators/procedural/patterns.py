"""Vectorised pattern fields: each pattern maps pixel coordinates to labels or a 0..1 ramp.

Three styles tell the renderer how to colour a field:

- ``banded``: integer band labels, coloured by cycling through the palette (stripes, checks);
- ``figure``: label 0 is the ground, labels >= 1 are figure elements (dots, grid lines);
- ``continuous``: floats in [0, 1] interpolated along the palette (gradient, noise).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image

from line_core.generators.procedural.scene import PatternSpec

TAU = 2 * np.pi


@dataclass(frozen=True)
class Canvas:
    """Centred pixel coordinates of a square image: ``x`` is (1, S), ``y`` is (S, 1)."""

    size: int
    x: np.ndarray
    y: np.ndarray


@lru_cache(maxsize=8)
def canvas(size: int) -> Canvas:
    """The (cached) coordinate grid for an image of ``size`` x ``size`` pixels."""
    axis = np.arange(size, dtype=np.float32) - (size - 1) / 2
    return Canvas(size, axis[None, :], axis[:, None])


def _rotated(c: Canvas, degrees: float, shift: tuple[float, float] = (0.0, 0.0)) -> tuple:
    """(along, across) coordinates; at 0 degrees ``across`` is y, so bands are horizontal."""
    theta = np.deg2rad(degrees)
    x, y = c.x - shift[0], c.y - shift[1]
    along = x * np.cos(theta) + y * np.sin(theta)
    across = -x * np.sin(theta) + y * np.cos(theta)
    return along.astype(np.float32), across.astype(np.float32)


def _angle(rng: np.random.Generator, spec: PatternSpec, default: tuple[float, ...]) -> float:
    choices = spec.angles or default
    return float(choices[int(rng.integers(len(choices)))] + rng.uniform(-4.0, 4.0))


def _period(c: Canvas, rng: np.random.Generator, spec: PatternSpec, repeats: float = 6.5) -> float:
    """Pattern period in pixels: ~``repeats`` per image, scaled by the spec, jittered per seed."""
    return max(4.0, c.size / repeats * spec.scale * float(rng.uniform(0.82, 1.22)))


def _centre(c: Canvas, rng: np.random.Generator, spread: float = 0.15) -> tuple[float, float]:
    dx, dy = rng.uniform(-spread, spread, size=2) * c.size
    return float(dx), float(dy)


def _polar(c: Canvas, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    cx, cy = _centre(c, rng)
    x, y = c.x - cx, c.y - cy
    return np.hypot(x, y), np.arctan2(y, x) + float(rng.uniform(0, TAU))


def smooth_noise(c: Canvas, rng: np.random.Generator, cells: int, octaves: int = 3) -> np.ndarray:
    """Value noise in [0, 1]: random grids upsampled bicubically and summed over octaves."""
    total = np.zeros((c.size, c.size), dtype=np.float32)
    for octave in range(octaves):
        n = max(2, cells * 2**octave)
        grid = Image.fromarray(rng.random((n + 1, n + 1), dtype=np.float32))
        total += np.asarray(grid.resize((c.size, c.size), Image.Resampling.BICUBIC)) / 2**octave
    low, high = float(total.min()), float(total.max())
    return (total - low) / (high - low + 1e-6)


def stripes(c: Canvas, rng: np.random.Generator, spec: PatternSpec) -> np.ndarray:
    """Parallel bands; 0 degrees gives horizontal stripes (varying along y)."""
    _, across = _rotated(c, _angle(rng, spec, (0.0, 90.0, 45.0, 135.0)))
    width = _period(c, rng, spec) / 2
    if spec.count:
        width = c.size / (2 * spec.count + 1) * float(rng.uniform(0.95, 1.05))
    return np.floor((across + rng.uniform(0, 2 * width)) / width).astype(np.int32)


def _wavy(c: Canvas, rng: np.random.Generator, spec: PatternSpec, shape: Callable) -> np.ndarray:
    along, across = _rotated(c, _angle(rng, spec, (0.0, 90.0)))
    width = _period(c, rng, spec, 5.5) / 2
    wavelength = width * float(rng.uniform(2.2, 3.2))
    offset = shape(along / wavelength + rng.uniform(0, 1)) * width * 0.9
    return np.floor((across + offset + rng.uniform(0, 2 * width)) / width).astype(np.int32)


def zigzag(c: Canvas, rng: np.random.Generator, spec: PatternSpec) -> np.ndarray:
    """Bands bent into sharp triangle waves (chevrons)."""
    return _wavy(c, rng, spec, lambda t: 2 * np.abs(2 * (t - np.floor(t)) - 1) - 1)


def waves(c: Canvas, rng: np.random.Generator, spec: PatternSpec) -> np.ndarray:
    """Bands bent into smooth sine waves."""
    return _wavy(c, rng, spec, lambda t: np.sin(TAU * t))


def checkerboard(c: Canvas, rng: np.random.Generator, spec: PatternSpec) -> np.ndarray:
    """Alternating squares; "diagonal" turns it into a diamond check."""
    along, across = _rotated(c, _angle(rng, spec, (0.0,)))
    cell = _period(c, rng, spec, 7.0) / 1.4
    a, b = rng.uniform(0, cell, size=2)
    return (np.floor((along + a) / cell) + np.floor((across + b) / cell)).astype(np.int32)


def grid(c: Canvas, rng: np.random.Generator, spec: PatternSpec) -> np.ndarray:
    """Thin lines on a square lattice (figure = lines)."""
    along, across = _rotated(c, _angle(rng, spec, (0.0,)))
    cell = _period(c, rng, spec, 7.0)
    line = max(1.5, cell * 0.12)
    a, b = rng.uniform(0, cell, size=2)
    lines = (np.mod(along + a, cell) < line) | (np.mod(across + b, cell) < line)
    return lines.astype(np.int32)


def polka_dots(c: Canvas, rng: np.random.Generator, spec: PatternSpec) -> np.ndarray:
    """Round dots on a staggered lattice (figure = dots, numbered to cycle colours)."""
    along, across = _rotated(c, _angle(rng, spec, (0.0,)))
    cell = _period(c, rng, spec, 6.0)
    across = across + rng.uniform(0, cell)
    row = np.floor(across / cell)
    along = along + np.mod(row, 2) * cell / 2 + rng.uniform(0, cell)
    col = np.floor(along / cell)
    du, dv = along - (col + 0.5) * cell, across - (row + 0.5) * cell
    inside = du * du + dv * dv < (cell * float(rng.uniform(0.28, 0.34))) ** 2
    return (inside * (1 + np.mod(row + col, 12))).astype(np.int32)


def spiral(c: Canvas, rng: np.random.Generator, spec: PatternSpec) -> np.ndarray:
    """An Archimedean spiral of one to three arms."""
    radius, phi = _polar(c, rng)
    width = _period(c, rng, spec, 7.0) / 2
    bands_per_turn = int(rng.integers(1, 4)) * max(2, spec.palette_size)
    return np.floor((radius + phi / TAU * bands_per_turn * width) / width).astype(np.int32)


def concentric_rings(c: Canvas, rng: np.random.Generator, spec: PatternSpec) -> np.ndarray:
    """Rings around a (jittered) centre, like a target."""
    radius, _ = _polar(c, rng)
    width = _period(c, rng, spec, 8.0) / 2
    return np.floor(radius / width + rng.uniform(0, 2)).astype(np.int32)


def sunburst(c: Canvas, rng: np.random.Generator, spec: PatternSpec) -> np.ndarray:
    """Angular sectors radiating from a centre."""
    _, phi = _polar(c, rng)
    n = max(2, spec.palette_size)
    sectors = n * max(3, round(float(rng.integers(14, 24)) / spec.scale / n))
    return np.floor(phi / TAU * sectors).astype(np.int32)


def honeycomb(c: Canvas, rng: np.random.Generator, spec: PatternSpec) -> np.ndarray:
    """Hexagonal cells (figure) separated by thin walls (ground)."""
    along, across = _rotated(c, _angle(rng, spec, (0.0,)))
    cell = _period(c, rng, spec, 6.0)
    step = np.array([1.0, np.sqrt(3.0)], dtype=np.float32)
    px, py = along / cell + rng.uniform(0, 2), across / cell + rng.uniform(0, 2)
    ax, ay = np.mod(px, step[0]) - 0.5 * step[0], np.mod(py, step[1]) - 0.5 * step[1]
    bx = np.mod(px - 0.5 * step[0], step[0]) - 0.5 * step[0]
    by = np.mod(py - 0.5 * step[1], step[1]) - 0.5 * step[1]
    use_a = ax * ax + ay * ay < bx * bx + by * by
    gx, gy = np.where(use_a, ax, bx), np.where(use_a, ay, by)
    hex_distance = np.maximum((np.abs(gx) * 0.5 + np.abs(gy) * np.sqrt(3.0) / 2), np.abs(gx))
    wall = hex_distance > 0.5 - max(0.04, 1.2 / cell)
    cell_id = np.floor(2 * (px - gx) + 0.5) + 3 * np.floor((py - gy) / step[1] * 2 + 0.5)
    return np.where(wall, 0, 1 + np.mod(cell_id, 7)).astype(np.int32)


def crosshatch(c: Canvas, rng: np.random.Generator, spec: PatternSpec) -> np.ndarray:
    """Two sets of crossing diagonal lines (figure = lines)."""
    along, across = _rotated(c, _angle(rng, spec, (45.0,)))
    gap = _period(c, rng, spec, 12.0)
    line = max(1.5, gap * 0.18)
    a, b = rng.uniform(0, gap, size=2)
    return ((np.mod(along + a, gap) < line) | (np.mod(across + b, gap) < line)).astype(np.int32)


def bricks(c: Canvas, rng: np.random.Generator, spec: PatternSpec) -> np.ndarray:
    """Running-bond brickwork: bricks are the figure, mortar is the ground."""
    along, across = _rotated(c, _angle(rng, spec, (0.0,)))
    height = _period(c, rng, spec, 9.0)
    across = across + rng.uniform(0, height)
    row = np.floor(across / height)
    along = along + np.mod(row, 2) * height + rng.uniform(0, 2 * height)
    col = np.floor(along / (2 * height))
    mortar = max(1.5, height * 0.12)
    joint = (np.mod(across, height) < mortar) | (np.mod(along, 2 * height) < mortar)
    return np.where(joint, 0, 1 + np.mod(row * 3 + col, 5)).astype(np.int32)


def speckles(c: Canvas, rng: np.random.Generator, spec: PatternSpec) -> np.ndarray:
    """Small flecks scattered at random over the ground."""
    cell = max(4.0, c.size / 26 * spec.scale)
    n = int(np.ceil(c.size / cell)) + 1
    offset = rng.random((n, n, 2), dtype=np.float32) * cell * 0.6 + cell * 0.2
    present = rng.random((n, n)) < 0.55
    radius = rng.uniform(0.14, 0.3, size=(n, n)).astype(np.float32) * cell
    colour = rng.integers(1, 7, size=(n, n))
    px, py = c.x + c.size / 2, c.y + c.size / 2
    col, row = np.floor(px / cell).astype(np.int32), np.floor(py / cell).astype(np.int32)
    row, col = np.broadcast_arrays(row, col)
    dx, dy = px - col * cell - offset[row, col, 0], py - row * cell - offset[row, col, 1]
    inside = present[row, col] & (dx * dx + dy * dy < radius[row, col] ** 2)
    return np.where(inside, colour[row, col], 0).astype(np.int32)


def noise(c: Canvas, rng: np.random.Generator, spec: PatternSpec) -> np.ndarray:
    """Smooth random blotches (value noise)."""
    return smooth_noise(c, rng, max(2, round(5 / spec.scale)))


def marble(c: Canvas, rng: np.random.Generator, spec: PatternSpec) -> np.ndarray:
    """Veins: a sine of one axis warped by noise."""
    along, _ = _rotated(c, float(rng.uniform(0, 180)))
    turbulence = smooth_noise(c, rng, max(2, round(3 / spec.scale)), octaves=4)
    return 0.5 + 0.5 * np.sin(along / (_period(c, rng, spec, 4.0)) * TAU + 9.0 * turbulence)


def gradient(c: Canvas, rng: np.random.Generator, spec: PatternSpec) -> np.ndarray:
    """A linear ramp between the colours (0 degrees runs top to bottom)."""
    _, across = _rotated(c, _angle(rng, spec, (0.0, 90.0, 45.0, 135.0)))
    span = float(np.abs(across).max()) * 2 * float(rng.uniform(0.85, 1.0))
    return np.clip(across / span + 0.5, 0.0, 1.0)


def plaid(c: Canvas, rng: np.random.Generator, spec: PatternSpec) -> np.ndarray:
    """Gingham/tartan: crossing bands whose overlaps mix the colours."""
    along, across = _rotated(c, _angle(rng, spec, (0.0,)))
    width = _period(c, rng, spec, 8.0) / 2
    a, b = rng.uniform(0, 2 * width, size=2)
    bands = np.mod(np.floor((along + a) / width), 2) + np.mod(np.floor((across + b) / width), 2)
    return bands / 2


def halves(c: Canvas, rng: np.random.Generator, spec: PatternSpec) -> np.ndarray:
    """``count`` large equal regions (for colour-only concepts such as "red and blue")."""
    _, across = _rotated(c, _angle(rng, spec, (0.0, 90.0, 45.0, 135.0)))
    parts = spec.count or 2
    position = across / c.size + 0.5 + rng.uniform(-0.08, 0.08)
    return np.clip(np.floor(position * parts), 0, parts - 1).astype(np.int32)


@dataclass(frozen=True)
class PatternDef:
    """A pattern's field function and how its values are coloured."""

    style: str
    field: Callable[[Canvas, np.random.Generator, PatternSpec], np.ndarray]


PATTERNS: dict[str, PatternDef] = {
    "stripes": PatternDef("banded", stripes),
    "polka dots": PatternDef("figure", polka_dots),
    "checkerboard": PatternDef("banded", checkerboard),
    "grid": PatternDef("figure", grid),
    "zigzag": PatternDef("banded", zigzag),
    "waves": PatternDef("banded", waves),
    "spiral": PatternDef("banded", spiral),
    "concentric rings": PatternDef("banded", concentric_rings),
    "honeycomb": PatternDef("figure", honeycomb),
    "noise": PatternDef("continuous", noise),
    "marble": PatternDef("continuous", marble),
    "crosshatch": PatternDef("figure", crosshatch),
    "gradient": PatternDef("continuous", gradient),
    "plaid": PatternDef("continuous", plaid),
    "bricks": PatternDef("figure", bricks),
    "sunburst": PatternDef("banded", sunburst),
    "speckles": PatternDef("figure", speckles),
}
"""Every drawable pattern by canonical name (the ``halves`` helper is internal)."""

ORIENTABLE_PATTERNS = frozenset(
    {"stripes", "zigzag", "waves", "gradient", "checkerboard", "grid", "plaid", "crosshatch"}
)
BAND_COUNT_PATTERNS = frozenset({"stripes"})
