"""Shape outlines, their layout on the canvas, and anti-aliased masks drawn with PIL."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

Outline = list[tuple[np.ndarray, bool]]
"""Unit polygons (radius <= 1, y down) with ``True`` to paint and ``False`` to cut a hole."""

_SUPERSAMPLE = 2


def _regular(sides: int, radius: float = 1.0, turn: float = -np.pi / 2) -> np.ndarray:
    angles = turn + np.arange(sides) * 2 * np.pi / sides
    return np.stack([np.cos(angles), np.sin(angles)], axis=1) * radius


def _star(points: int = 5, inner: float = 0.42) -> np.ndarray:
    outline = _regular(2 * points)
    outline[1::2] *= inner
    return outline


def _cross(arm: float = 0.34) -> np.ndarray:
    a = arm
    return np.array([(-a, -1), (a, -1), (a, -a), (1, -a), (1, a), (a, a), (a, 1), (-a, 1),
                     (-a, a), (-1, a), (-1, -a), (-a, -a)], dtype=float)


def _heart() -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, 60, endpoint=False)
    x = 16 * np.sin(t) ** 3
    y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
    return np.stack([x, y + 2.5], axis=1) / 17


_CIRCLE = _regular(64)
OUTLINES: dict[str, Outline] = {
    "circle": [(_CIRCLE, True)],
    "square": [(np.array([(-1, -1), (1, -1), (1, 1), (-1, 1)], dtype=float) * 0.78, True)],
    "triangle": [(_regular(3) + (0, 0.15), True)],
    "star": [(_star(), True)],
    "hexagon": [(_regular(6, turn=0.0), True)],
    "pentagon": [(_regular(5), True)],
    "octagon": [(_regular(8, turn=np.pi / 8), True)],
    "diamond": [(np.array([(0, -1), (0.62, 0), (0, 1), (-0.62, 0)], dtype=float), True)],
    "ring": [(_CIRCLE, True), (_CIRCLE * 0.62, False)],
    "cross": [(_cross(), True)],
    "heart": [(_heart(), True)],
    "crescent": [(_CIRCLE, True), (_CIRCLE * 0.85 + (0.45, -0.2), False)],
    "rectangle": [(np.array([(-1, -0.55), (1, -0.55), (1, 0.55), (-1, 0.55)], dtype=float), True)],
    "ellipse": [(_CIRCLE * (1.0, 0.6), True)],
    "arrow": [(np.array([(-1, -0.22), (0.15, -0.22), (0.15, -0.6), (1, 0), (0.15, 0.6),
                         (0.15, 0.22), (-1, 0.22)], dtype=float), True)],
}
"""Every drawable shape by canonical name."""

GENERIC_SHAPE = "shape"
"""The word for "any shape": each drawn shape then takes a random kind."""


@dataclass(frozen=True)
class Placement:
    """One shape on the canvas: kind, centre and radius in pixels, rotation, colour group."""

    kind: str
    x: float
    y: float
    radius: float
    degrees: float
    group: int


def layout(
    rng: np.random.Generator, size: int, count: int, diameter: float | None
) -> list[tuple[float, float, float]]:
    """Centres and radii of ``count`` non-overlapping shapes (one per cell of a jittered grid)."""
    if count <= 1:
        radius = (diameter or 0.5) * size / 2 * float(rng.uniform(0.9, 1.1))
        room = max(0.0, size / 2 - radius)
        x, y = size / 2 + rng.uniform(-0.6, 0.6, size=2) * room
        return [(float(x), float(y), radius)]
    cols = int(np.ceil(np.sqrt(count)))
    rows = int(np.ceil(count / cols))
    cell_w, cell_h = size / cols, size / rows
    largest = 0.46 * min(cell_w, cell_h)
    radius = min(largest, diameter * size / 2) if diameter else largest * rng.uniform(0.72, 0.95)
    spots = []
    for cell in rng.permutation(rows * cols)[:count]:
        r = float(radius * rng.uniform(0.85, 1.0))
        row, col = divmod(int(cell), cols)
        dx, dy = rng.uniform(-1, 1, size=2) * 0.9
        x = (col + 0.5) * cell_w + dx * max(0.0, cell_w / 2 - r)
        y = (row + 0.5) * cell_h + dy * max(0.0, cell_h / 2 - r)
        spots.append((float(x), float(y), r))
    return spots


def place(
    rng: np.random.Generator,
    size: int,
    kinds: tuple[str, ...],
    count: int,
    diameter: float | None,
    angles: tuple[float, ...] | None,
    groups: int,
) -> list[Placement]:
    """Lay out ``count`` shapes, cycling kinds and colour groups, each slightly rotated."""
    spread = 12.0 if count == 1 else 25.0
    placements = []
    for i, (x, y, radius) in enumerate(layout(rng, size, count, diameter)):
        kind = kinds[i % len(kinds)]
        if kind not in OUTLINES:
            kind = list(OUTLINES)[int(rng.integers(len(OUTLINES)))]
        base = angles[int(rng.integers(len(angles)))] if angles else 0.0
        degrees = base + float(rng.uniform(-spread, spread))
        placements.append(Placement(kind, x, y, radius, degrees, i % max(1, groups)))
    return placements


def _transform(points: np.ndarray, p: Placement) -> list[tuple[float, float]]:
    theta = np.deg2rad(p.degrees)
    rotation = np.array([[np.cos(theta), np.sin(theta)], [-np.sin(theta), np.cos(theta)]])
    moved = (points @ rotation) * p.radius + (p.x, p.y)
    return [(float(x), float(y)) for x, y in moved * _SUPERSAMPLE]


def masks(size: int, placements: list[Placement], groups: int) -> list[np.ndarray]:
    """One anti-aliased float mask in [0, 1] per colour group."""
    big = size * _SUPERSAMPLE
    images = [Image.new("L", (big, big), 0) for _ in range(max(1, groups))]
    pens = [ImageDraw.Draw(image) for image in images]
    for p in placements:
        for points, solid in OUTLINES[p.kind]:
            pens[p.group].polygon(_transform(points, p), fill=255 if solid else 0)
    return [
        np.asarray(image.resize((size, size), Image.Resampling.BOX), dtype=np.float32) / 255
        for image in images
    ]
