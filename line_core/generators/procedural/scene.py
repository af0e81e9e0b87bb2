"""The scene specification a concept text parses into (what to draw, before any seed)."""

from __future__ import annotations

from dataclasses import dataclass

from line_core.generators.procedural.colours import RGB


@dataclass(frozen=True)
class PatternSpec:
    """A pattern kind with its orientation choices, scale multiplier and band count.

    ``palette_size`` is set by the renderer so that radial patterns close without a seam.
    """

    kind: str
    angles: tuple[float, ...] | None = None
    scale: float = 1.0
    count: int | None = None
    palette_size: int = 2


@dataclass(frozen=True)
class FillSpec:
    """How a region is painted: named figure colours, named ground colours, optional pattern.

    Colours left unnamed are chosen per seed by the renderer (contrasting the rest).
    """

    colours: tuple[RGB, ...] = ()
    ground: tuple[RGB, ...] = ()
    pattern: PatternSpec | None = None


@dataclass(frozen=True)
class ShapeSpec:
    """Shapes to draw: kinds (cycled), count range, diameter fraction, base angle and fill."""

    kinds: tuple[str, ...]
    count: tuple[int, int]
    size: float | None
    fill: FillSpec
    angles: tuple[float, ...] | None = None


@dataclass(frozen=True)
class SceneSpec:
    """A whole picture: background fill, optional pattern overlay and optional shapes.

    ``fallback`` is set when nothing in the text was renderable: the renderer then draws a
    noise texture whose colours come from the text itself.
    """

    background: FillSpec
    overlay: FillSpec | None = None
    shapes: ShapeSpec | None = None
    unrendered: tuple[str, ...] = ()
    fallback: bool = False
