"""Label placement without overlap, shared by the plotly and matplotlib figures.

Labels are placed greedily, most important first, at the first of eight positions around
their point whose text box overlaps no placed label, no marker and stays inside the plot.
A name that does not fit beside its point becomes a number (the figure prints a numbered key,
"1 two vertical red", under the plot); if neither fits beside the point, the name and then
the number are moved further out on a thin leader line. So no text is drawn on top of other
text or cut off at the edge. Sizes are in points; text widths are estimated on the wide side (DejaVu
Sans, the widest fallback font) so the estimate holds for every font a figure may get.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from line_core.figures.data import wrap_label

#: Average advance of a character in em: DejaVu Sans (the widest fallback) averages ~0.58.
CHAR_EM = 0.6
#: Candidate anchors: (dx sign, dy sign, horizontal anchor, vertical anchor); top first.
_CANDIDATES = (
    (0, 1, "center", "bottom"),
    (1, 0, "left", "middle"),
    (-1, 0, "right", "middle"),
    (0, -1, "center", "top"),
    (1, 1, "left", "bottom"),
    (-1, 1, "right", "bottom"),
    (1, -1, "left", "top"),
    (-1, -1, "right", "top"),
)


def text_width_pt(text: str, font_pt: float) -> float:
    """A generous estimate of a one-line text's width in points."""
    return CHAR_EM * font_pt * len(text)


@dataclass(frozen=True)
class PlacedLabel:
    """Where one label goes: its text, offset from its point (points) and anchors."""

    index: int
    text: str
    numbered: bool
    dx_pt: float
    dy_pt: float
    ha: str
    va: str
    leader: bool = False


Box = tuple[float, float, float, float]


def _box(x: float, y: float, width: float, height: float, ha: str, va: str) -> Box:
    left = x - width / 2 if ha == "center" else (x if ha == "left" else x - width)
    bottom = y - height / 2 if va == "middle" else (y if va == "bottom" else y - height)
    return (left, bottom, left + width, bottom + height)


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _fits(box: Box, taken: Sequence[Box], width: float, height: float) -> bool:
    inside = box[0] >= 0 and box[1] >= 0 and box[2] <= width and box[3] <= height
    return inside and not any(_overlaps(box, other) for other in taken)


def place_labels(
    points_pt: Sequence[tuple[float, float]],
    texts: Sequence[str],
    plot_pt: tuple[float, float],
    font_pt: float,
    marker_pt: float = 6.0,
    obstacles_pt: Sequence[tuple[float, float]] = (),
) -> list[PlacedLabel]:
    """Place ``texts[i]`` beside ``points_pt[i]`` (in order of priority) without overlap.

    ``plot_pt`` is the plot area (width, height) in points, the points are inside it;
    ``obstacles_pt`` are other markers that labels must not cover. A name that does not fit
    beside its point becomes its 1-based number in the key (``numbered``); failing that the
    name, then the number, go further out with a ``leader`` line; a label that fits nowhere
    at all (a pathological pile of points) is its number above its point.
    """
    width, height = plot_pt
    half = marker_pt / 2
    taken: list[Box] = [
        (x - half, y - half, x + half, y + half) for x, y in [*points_pt, *obstacles_pt]
    ]
    gap = half + 1.0
    line = font_pt * 1.15
    placed: list[PlacedLabel] = []
    for index, ((x, y), text) in enumerate(zip(points_pt, texts, strict=True)):
        number = str(1 + sum(label.numbered for label in placed))
        label = None
        tries = ((text, False, _NEAR), (number, True, _NEAR), (text, False, _FAR),
                 (number, True, _FAR))
        for candidate, numbered, rings in tries:
            label = _first_fit(index, candidate, numbered, x, y, gap, rings, line, font_pt,
                               taken, plot_pt)
            if label is not None:
                break
        if label is None:  # crowded beyond repair: the number above its point
            label = PlacedLabel(index, number, True, 0.0, gap, "center", "bottom")
        taken.append(_box(x + label.dx_pt, y + label.dy_pt, text_width_pt(label.text, font_pt),
                          line, label.ha, label.va))
        placed.append(label)
    return placed


#: Distances from the point, in gaps: beside it, then further out with a leader line.
_NEAR = (1.0,)
_FAR = (2.5, 4.0, 5.5, 7.5, 10.0)


def _first_fit(index: int, text: str, numbered: bool, x: float, y: float, gap: float,
               rings: Sequence[float], line: float, font_pt: float, taken: Sequence[Box],
               plot_pt: tuple[float, float]) -> PlacedLabel | None:
    """The first candidate position (by ring, then by side) whose box is free, or None."""
    width = text_width_pt(text, font_pt)
    for ring in rings:
        for sx, sy, ha, va in _CANDIDATES:
            dx, dy = sx * gap * ring, sy * gap * ring
            if _fits(_box(x + dx, y + dy, width, line, ha, va), taken, *plot_pt):
                return PlacedLabel(index, text, numbered, dx, dy, ha, va, leader=ring > 1)
    return None


def numbered_key(placed: Sequence[PlacedLabel], texts: Sequence[str]) -> list[str]:
    """Key entries ``"1 two vertical red"`` for the labels drawn as numbers."""
    return [f"{label.text} {texts[label.index]}" for label in placed if label.numbered]


def wrap_text(parts: Sequence[str], width_pt: float, font_pt: float, sep: str = "   ") -> list[str]:
    """Greedy wrap of key entries (never split) and words into lines of ``width_pt``."""
    limit = max(1, int(width_pt / (CHAR_EM * font_pt)))
    lines: list[str] = []
    for part in parts:
        joined = f"{lines[-1]}{sep}{part}" if lines else part
        if lines and len(joined) <= limit:
            lines[-1] = joined
        elif len(part) <= limit:
            lines.append(part)
        else:
            lines.extend(wrap_label(part, limit))
    return lines

