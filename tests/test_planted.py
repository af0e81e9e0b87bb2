"""The planted model: each planted unit fires on its concept (numpy-drawn images), labels match."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from line_core.layers import list_layers
from line_core.probe import layer_activations
from line_core.targets import load_target
from line_core.targets.planted_units import planted_unit, planted_units

SIZE = 224
YY, XX = np.mgrid[0:SIZE, 0:SIZE].astype(float)
RGB = {
    "red": (230, 20, 20),
    "green": (30, 170, 40),
    "blue": (20, 40, 230),
    "yellow": (250, 230, 10),
    "purple": (140, 20, 170),
    "orange": (250, 140, 10),
    "white": (255, 255, 255),
    "black": (0, 0, 0),
    "gray": (128, 128, 128),
}


def two_tone(mask: np.ndarray, figure: str, ground: str) -> Image.Image:
    """Blend two named colours by a mask in [0, 1] (1 = figure)."""
    m = np.clip(mask, 0.0, 1.0)[..., None]
    pixels = m * np.array(RGB[figure]) + (1 - m) * np.array(RGB[ground])
    return Image.fromarray(pixels.astype(np.uint8))


def stripes(direction: str, period: float, figure="black", ground="white") -> Image.Image:
    """Sine-wave stripes (soft edges)."""
    coord = {"horizontal": YY, "vertical": XX, "diagonal": (XX + YY) / np.sqrt(2)}[direction]
    return two_tone((np.sin(2 * np.pi * coord / period) + 1) / 2, figure, ground)


def checkerboard(square: int, figure="black", ground="white") -> Image.Image:
    return two_tone(((XX // square + YY // square) % 2 == 0).astype(float), figure, ground)


def polka_dots(radius: float, spacing: float, figure="black", ground="white") -> Image.Image:
    mask = np.zeros((SIZE, SIZE))
    for row, cy in enumerate(np.arange(spacing / 2, SIZE + spacing, spacing * 0.87)):
        shift = spacing / 2 if row % 2 else 0.0  # staggered rows
        for cx in np.arange(shift, SIZE + spacing, spacing):
            mask[(XX - cx) ** 2 + (YY - cy) ** 2 < radius**2] = 1.0
    return two_tone(mask, figure, ground)


def solid(name: str) -> Image.Image:
    return Image.new("RGB", (SIZE, SIZE), RGB[name])


def stimuli() -> dict[str, Image.Image]:
    rng = np.random.default_rng(0)
    noise = Image.fromarray(rng.integers(0, 256, (28, 28, 3), dtype=np.uint8)).resize(
        (SIZE, SIZE), Image.Resampling.BILINEAR
    )
    ramp = np.zeros((SIZE, SIZE, 3), np.uint8)
    ramp[..., 0] = XX.astype(np.uint8)
    ramp[..., 1] = 255 - YY.astype(np.uint8)
    images = {f"solid {name}": solid(name) for name in RGB}
    images |= {
        "horizontal stripes": stripes("horizontal", 24),
        "horizontal stripes wide": stripes("horizontal", 48, "gray", "black"),
        "vertical stripes": stripes("vertical", 20),
        "vertical stripes orange": stripes("vertical", 32, "orange", "white"),
        "diagonal stripes": stripes("diagonal", 24),
        "checkerboard": checkerboard(16),
        "checkerboard coarse": checkerboard(28, "white", "gray"),
        "polka dots": polka_dots(6, 26),
        "polka dots large": polka_dots(10, 40, "white", "black"),
        "yellow horizontal stripes": stripes("horizontal", 24, "yellow", "black"),
        "blue polka dots": polka_dots(7, 30, "blue", "white"),
        "red vertical stripes": stripes("vertical", 24, "red", "white"),
        "green checkerboard": checkerboard(16, "green", "white"),
        "noise": noise,
        "colour ramp": Image.fromarray(ramp),
    }
    return images


# Which stimuli each unit must prefer (its concept drawn plainly), by unit concept.
EXPECTED = {
    "red": ["solid red", "red vertical stripes"],
    "green": ["solid green", "green checkerboard"],
    "blue": ["solid blue", "blue polka dots"],
    "yellow": ["solid yellow", "yellow horizontal stripes"],
    "purple": ["solid purple"],
    "horizontal stripes": ["horizontal stripes", "horizontal stripes wide"],
    "vertical stripes": ["vertical stripes", "vertical stripes orange"],
    "diagonal stripes": ["diagonal stripes"],
    "checkerboard": ["checkerboard", "checkerboard coarse", "green checkerboard"],
    "polka dots": ["polka dots", "polka dots large", "blue polka dots"],
    "yellow horizontal stripes": ["yellow horizontal stripes"],
    "blue polka dots": ["blue polka dots"],
    "red or vertical stripes": ["solid red", "vertical stripes", "red vertical stripes"],
    "green or checkerboard": ["solid green", "checkerboard", "green checkerboard"],
}
# Stimuli that also contain the concept (not counted against the unit).
ALSO = {
    "red": ["colour ramp"],
    "green": ["colour ramp", "noise"],
    "blue": ["colour ramp", "noise"],
    "purple": ["colour ramp", "noise"],
    "horizontal stripes": ["yellow horizontal stripes"],
    "vertical stripes": ["red vertical stripes"],
    "red or vertical stripes": ["vertical stripes orange", "colour ramp"],
    "green or checkerboard": ["checkerboard coarse", "colour ramp", "noise"],
}


@pytest.fixture(scope="module")
def activations():
    target = load_target("planted")
    images = stimuli()
    acts = layer_activations(target, "units", list(images.values()))
    return target, list(images), acts


def test_layers_and_defaults(activations):
    target, _, acts = activations
    layers = list_layers(target)
    units = planted_units()
    assert layers == {"colour": 9, "texture": 5, "unit_maps": len(units), "units": len(units)}
    assert len(units) >= 12 and acts.shape[1] == len(units)
    assert (target.default_layer, target.default_neuron) == ("units", 0)
    assert target.extra["planted_units"] == units
    assert np.all((acts >= 0) & (acts <= 1))


@pytest.mark.parametrize("unit", planted_units(), ids=lambda u: u.concept)
def test_each_unit_prefers_its_concept(activations, unit):
    _, names, acts = activations
    column = dict(zip(names, acts[:, unit.index], strict=True))
    expected = EXPECTED[unit.concept]
    others = [n for n in names if n not in expected and n not in ALSO.get(unit.concept, [])]
    weakest, strongest_other = min(column[n] for n in expected), max(column[n] for n in others)
    assert weakest > 0.1, (unit.concept, {n: column[n] for n in expected})
    assert weakest > 1.5 * strongest_other, (
        unit.concept,
        {n: round(float(column[n]), 3) for n in expected},
        max(others, key=column.get),
        round(float(strongest_other), 3),
    )


def test_and_units_need_both_halves(activations):
    _, names, acts = activations
    col = dict(zip(names, acts[:, planted_unit("yellow horizontal stripes").index], strict=True))
    assert col["yellow horizontal stripes"] > 0.8
    assert col["solid yellow"] < 0.05 and col["horizontal stripes"] < 0.05
    col = dict(zip(names, acts[:, planted_unit("blue polka dots").index], strict=True))
    assert col["solid blue"] < 0.05 and col["polka dots"] < 0.05


def test_or_units_fire_for_either_unrelated_half(activations):
    _, names, acts = activations
    col = dict(zip(names, acts[:, planted_unit("red or vertical stripes").index], strict=True))
    assert col["solid red"] > 0.9 and col["vertical stripes"] > 0.9
    assert col["solid green"] < 0.05 and col["horizontal stripes"] < 0.05


def test_units_metadata_is_consistent():
    units = planted_units()
    assert [u.index for u in units] == list(range(len(units)))
    kinds = {u.kind for u in units}
    assert kinds == {"colour", "pattern", "and", "or"}
    for unit in units:
        assert unit.matches(unit.concept), unit.concept
        assert unit.description and unit.parts
        if unit.kind == "or":  # each unrelated half alone names the unit
            assert all(unit.matches(part) for part in unit.parts)
        if unit.kind == "and":  # one half alone does not
            assert not any(unit.matches(part) for part in unit.parts)
    assert planted_unit(3) is planted_unit("yellow")
    with pytest.raises(KeyError):
        planted_unit("mauve")


@pytest.mark.parametrize(
    ("concept", "label", "expected"),
    [
        ("red", "Crimson", True),
        ("red", "scarlet fabric", True),
        ("red", "shredded paper", False),
        ("red", "blue", False),
        ("purple", "violet flowers", True),
        ("horizontal stripes", "horizontal lines", True),
        ("horizontal stripes", "Horizontally striped shirt", True),
        ("horizontal stripes", "stripes", False),
        ("horizontal stripes", "vertical stripes", False),
        ("diagonal stripes", "slanted bands", True),
        ("checkerboard", "black and white chequered floor", True),
        ("checkerboard", "grid", False),
        ("polka dots", "polka-dot dress", True),
        ("polka dots", "white spots on black", True),
        ("polka dots", "stripes", False),
        ("yellow horizontal stripes", "golden horizontal stripes", True),
        ("yellow horizontal stripes", "yellow stripes", False),
        ("yellow horizontal stripes", "horizontal stripes", False),
        ("blue polka dots", "navy dots", True),
        ("red or vertical stripes", "red", True),
        ("red or vertical stripes", "vertical lines", True),
        ("red or vertical stripes", "green", False),
        ("green or checkerboard", "chessboard", True),
        ("green or checkerboard", "emerald", True),
    ],
)
def test_label_matching(concept, label, expected):
    assert planted_unit(concept).matches(label) is expected
