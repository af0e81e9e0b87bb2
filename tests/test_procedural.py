"""Tests of the offline procedural renderer (line_core.generators.procedural)."""

from __future__ import annotations

import colorsys
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import ndimage

from line_core.generators import GENERATORS, ImageGenerator
from line_core.generators.procedural import (
    COLOURS,
    OUTLINES,
    PATTERNS,
    ProceduralGenerator,
    parse,
)
from line_core.generators.procedural.vocabulary import PATTERN_WORDS, SHAPE_WORDS

SEEDS = range(5)


@pytest.fixture(scope="module")
def gen() -> ProceduralGenerator:
    return ProceduralGenerator()


def pixels(gen: ProceduralGenerator, concept: str, seed: int = 0) -> np.ndarray:
    return np.asarray(gen.render(concept, seed), dtype=np.float32)


def fraction(img: np.ndarray, rgb: tuple[int, int, int], tolerance: float = 70.0) -> float:
    """Share of pixels within ``tolerance`` (Euclidean RGB) of a colour."""
    return float((np.linalg.norm(img - np.asarray(rgb, np.float32), axis=2) < tolerance).mean())


def foreground(img: np.ndarray) -> np.ndarray:
    """Pixels that differ from the most common colour (the background)."""
    flat = img.reshape(-1, 3).astype(np.int32)
    colours, counts = np.unique(flat, axis=0, return_counts=True)
    background = colours[np.argmax(counts)]
    return np.linalg.norm(img - background, axis=2) > 60


def components(img: np.ndarray) -> int:
    return int(ndimage.label(foreground(img), structure=np.ones((3, 3)))[1])


# --- protocol and registry ------------------------------------------------------------------


def test_registry_creates_it() -> None:
    gen = GENERATORS.create("procedural")
    assert isinstance(gen, ProceduralGenerator)
    assert isinstance(gen, ImageGenerator)
    assert gen.name == "procedural" and gen.kind == "procedural"
    assert "procedural" in GENERATORS.names()
    small = GENERATORS.create("procedural", size=64)
    assert small.generate("red", [0])[0].size == (64, 64)


def test_generate_returns_rgb_images_one_per_seed(gen: ProceduralGenerator) -> None:
    images = gen.generate("blue polka dots", [0, 1, 2])
    assert len(images) == 3
    assert all(im.mode == "RGB" and im.size == (224, 224) for im in images)
    assert gen.prompt_for("blue polka dots", 3) == "blue polka dots"


def test_honest_labelling(gen: ProceduralGenerator) -> None:
    text = gen.describe()
    assert "procedural" in text and "not a photo generator" in text
    assert "red stripes on a blue background" in text
    assert "procedural" in (ProceduralGenerator.__doc__ or "").lower()


# --- determinism and seed variation ---------------------------------------------------------


@pytest.mark.parametrize("concept", ["red stripes on a blue background", "stars", "dog", ""])
def test_deterministic_for_text_and_seed(concept: str) -> None:
    first = ProceduralGenerator().render(concept, 3).tobytes()
    second = ProceduralGenerator().render(concept, 3).tobytes()
    assert first == second


@pytest.mark.parametrize("concept", ["horizontal stripes", "yellow circles", "one star", "marble"])
def test_different_seeds_vary(gen: ProceduralGenerator, concept: str) -> None:
    images = {gen.render(concept, seed).tobytes() for seed in SEEDS}
    assert len(images) == len(SEEDS)


# --- colours --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "concept", ["red", "blue", "navy", "teal", "crimson", "light blue", "dark green", "gold"]
)
def test_named_colour_dominates(gen: ProceduralGenerator, concept: str) -> None:
    target = np.asarray(COLOURS[concept], np.float32) / 255
    for seed in SEEDS:
        mean = pixels(gen, concept, seed).reshape(-1, 3).mean(axis=0) / 255
        assert np.abs(mean - target).max() < 0.18, (concept, seed, mean, target)
        if colorsys.rgb_to_hsv(*target)[1] > 0.5:
            hue = colorsys.rgb_to_hsv(*mean)[0]
            gap = abs(hue - colorsys.rgb_to_hsv(*target)[0])
            assert min(gap, 1 - gap) < 0.04


def test_colour_words_change_the_image(gen: ProceduralGenerator) -> None:
    red, blue = pixels(gen, "red stripes"), pixels(gen, "blue stripes")
    assert fraction(red, (255, 0, 0)) > 0.3 and fraction(red, (0, 0, 255)) < 0.01
    assert fraction(blue, (0, 0, 255)) > 0.3 and fraction(blue, (255, 0, 0)) < 0.01


def test_colour_modifiers_and_aliases() -> None:
    assert parse("grey").background.ground == (COLOURS["gray"],)
    assert parse("lightblue").background.ground == (COLOURS["light blue"],)
    light, dark = (
        parse("light crimson").background.ground[0],
        parse("dark crimson").background.ground[0],
    )
    assert sum(light) > sum(COLOURS["crimson"]) > sum(dark)


# --- patterns -------------------------------------------------------------------------------


def _axis_variances(img: np.ndarray) -> tuple[float, float]:
    gray = img.mean(axis=2)
    return float(gray.mean(axis=1).var()), float(gray.mean(axis=0).var())  # rows, columns


@pytest.mark.parametrize("seed", SEEDS)
def test_horizontal_and_vertical_stripes(gen: ProceduralGenerator, seed: int) -> None:
    rows, cols = _axis_variances(pixels(gen, "horizontal stripes", seed))
    assert rows > 10 * cols, "horizontal stripes vary along y (row means differ)"
    rows, cols = _axis_variances(pixels(gen, "vertical stripes", seed))
    assert cols > 10 * rows, "vertical stripes vary along x (column means differ)"


def test_diagonal_stripes_vary_along_both_axes_but_not_the_diagonal(
    gen: ProceduralGenerator,
) -> None:
    img = pixels(gen, "diagonal stripes").mean(axis=2)
    spectrum = np.abs(np.fft.fft2(img - img.mean()))
    spectrum[0, 0] = 0
    fy, fx = np.unravel_index(np.argmax(spectrum), spectrum.shape)
    assert fy not in (0,) and fx not in (0,), "the dominant frequency is off both axes"


@pytest.mark.parametrize("kind", sorted(PATTERNS))
def test_every_pattern_renders_with_contrast(gen: ProceduralGenerator, kind: str) -> None:
    concept = f"black and white {kind}"
    assert parse(concept).background.pattern.kind == kind
    img = pixels(gen, concept)
    assert img.mean(axis=2).std() > 30
    assert gen.unrendered_words(concept) == []


def test_patterns_differ_from_each_other(gen: ProceduralGenerator) -> None:
    images = {kind: pixels(gen, f"black and white {kind}") for kind in PATTERNS}
    kinds = sorted(images)
    for i, a in enumerate(kinds):
        for b in kinds[i + 1 :]:
            assert np.abs(images[a] - images[b]).mean() > 5, (a, b)


@pytest.mark.parametrize(
    ("word", "kind"),
    [
        ("striped", "stripes"),
        ("bands", "stripes"),
        ("lines", "stripes"),
        ("dots", "polka dots"),
        ("spots", "polka dots"),
        ("checks", "checkerboard"),
        ("checkered", "checkerboard"),
        ("wavy", "waves"),
        ("concentric circles", "concentric rings"),
        ("zig-zag", "zigzag"),
        ("cross-hatched", "crosshatch"),
        ("tartan", "plaid"),
    ],
)
def test_pattern_synonyms(word: str, kind: str) -> None:
    assert parse(f"red {word}").background.pattern.kind == kind


def test_stripe_count_and_thickness() -> None:
    assert parse("three stripes").background.pattern.count == 3
    assert (
        parse("thin stripes").background.pattern.scale
        < parse("thick stripes").background.pattern.scale
    )


# --- shapes, sizes and counts ---------------------------------------------------------------


def test_circles_are_shapes() -> None:
    scene = parse("yellow circles")
    assert scene.shapes is not None and scene.shapes.kinds == ("circle",)
    assert scene.shapes.count[0] > 1


@pytest.mark.parametrize("seed", SEEDS)
def test_large_shape_covers_more_than_small(gen: ProceduralGenerator, seed: int) -> None:
    large = foreground(pixels(gen, "one large circle", seed)).mean()
    small = foreground(pixels(gen, "one small circle", seed)).mean()
    assert large > 3 * small > 0


@pytest.mark.parametrize("seed", SEEDS)
def test_many_small_stars_have_more_components_than_one_star(
    gen: ProceduralGenerator, seed: int
) -> None:
    assert components(pixels(gen, "many small stars", seed)) >= 8
    assert components(pixels(gen, "one star", seed)) == 1


@pytest.mark.parametrize(
    ("concept", "count"),
    [
        ("two red squares on white", 2),
        ("3 triangles", 3),
        ("five hearts", 5),
        ("7 stars", 7),
        ("a hexagon", 1),
        ("twelve tiny circles", 12),
        ("a circle and a square", 2),
    ],
)
def test_exact_counts(gen: ProceduralGenerator, concept: str, count: int) -> None:
    for seed in SEEDS:
        assert components(pixels(gen, concept, seed)) == count, (concept, seed)


@pytest.mark.parametrize(
    ("concept", "low", "high"),
    [("a few squares", 2, 4), ("several hearts", 4, 7), ("many small circles", 10, 18)],
)
def test_vague_counts(gen: ProceduralGenerator, concept: str, low: int, high: int) -> None:
    found = [components(pixels(gen, concept, seed)) for seed in range(8)]
    assert all(low <= n <= high for n in found), found
    assert len(set(found)) > 1, "the seed picks the number within the range"


@pytest.mark.parametrize("kind", sorted(OUTLINES))
def test_every_shape_renders(gen: ProceduralGenerator, kind: str) -> None:
    assert parse(f"a {kind}").shapes.kinds == (kind,)
    share = foreground(pixels(gen, f"one large white {kind} on black")).mean()
    assert 0.05 < share < 0.6


def test_shapes_differ_from_each_other(gen: ProceduralGenerator) -> None:
    masks = {k: foreground(pixels(gen, f"one large white {k} on black")) for k in OUTLINES}
    kinds = sorted(masks)
    for i, a in enumerate(kinds):
        for b in kinds[i + 1 :]:
            assert (masks[a] != masks[b]).mean() > 0.01, (a, b)


# --- compositions ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_compositions(gen: ProceduralGenerator, seed: int) -> None:
    img = pixels(gen, "red stripes on a blue background", seed)
    assert fraction(img, (255, 0, 0)) > 0.25 and fraction(img, (0, 0, 255)) > 0.25
    img = pixels(gen, "green and white checkerboard", seed)
    assert fraction(img, COLOURS["green"]) > 0.3 and fraction(img, (255, 255, 255)) > 0.3
    img = pixels(gen, "a large red star on black", seed)
    assert fraction(img, (255, 0, 0)) > 0.05 and fraction(img, (0, 0, 0)) > 0.5
    img = pixels(gen, "yellow circles", seed)
    assert fraction(img, (255, 255, 0)) > 0.05
    img = pixels(gen, "red polka dots on blue stripes", seed)
    assert fraction(img, (255, 0, 0)) > 0.1 and fraction(img, (0, 0, 255)) > 0.1


def test_background_clauses() -> None:
    assert parse("blue background with red stars").background.ground == (COLOURS["blue"],)
    assert parse("white with black dots").background.ground == (COLOURS["white"],)
    assert parse("a star with stripes").shapes.fill.pattern.kind == "stripes"


# --- unrendered words and robustness --------------------------------------------------------


@pytest.mark.parametrize(
    ("concept", "missing"),
    [
        ("a golden retriever", ["retriever"]),
        ("A realistic photo of a dog", ["dog"]),
        ("red stripes on a blue background", []),
        ("zxqv blorp", ["zxqv", "blorp"]),
        ("dark stripes", ["dark"]),
        ("many small", ["many", "small"]),
        ("", []),
    ],
)
def test_unrendered_words(gen: ProceduralGenerator, concept: str, missing: list[str]) -> None:
    assert gen.unrendered_words(concept) == missing


def test_unknown_text_renders_from_the_text(gen: ProceduralGenerator) -> None:
    unknown = pixels(gen, "zxqv")
    assert parse("zxqv").fallback and not parse("a golden retriever").fallback
    assert unknown.mean(axis=2).std() > 5, "a textured image, not a blank one"
    assert np.abs(pixels(gen, "blorp") - unknown).mean() > 5, "the text picks the look"
    assert fraction(pixels(gen, "a golden retriever"), COLOURS["gold"]) > 0.9


@pytest.mark.parametrize(
    "concept",
    [
        "",
        "   ",
        "🦊 ünïcødé ☃ 漢字",
        "9" * 5000 + " stars",
        "red " * 5000,
        "\x00\n\t",
        "-1 stars",
        "²³ circles",
        "on on with with",
        "with",
        "background",
        "dark",
        "0 stars",
    ],
)
def test_edge_cases_never_raise(gen: ProceduralGenerator, concept: str) -> None:
    image = gen.render(concept, 0)
    assert image.size == (224, 224)
    assert isinstance(gen.unrendered_words(concept), list)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(max_size=200), seed=st.integers(min_value=-(2**40), max_value=2**40))
def test_fuzzing_never_crashes(gen: ProceduralGenerator, text: str, seed: int) -> None:
    image = gen.render(text, seed)
    assert image.mode == "RGB" and image.size == (224, 224)
    assert image.tobytes() == gen.render(text, seed).tobytes()
    words = gen.unrendered_words(text)
    assert all(isinstance(w, str) and w for w in words)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    words=st.lists(
        st.sampled_from(
            sorted(
                [
                    "red",
                    "blue",
                    "light",
                    "stripes",
                    "dots",
                    "stars",
                    "on",
                    "with",
                    "a",
                    "many",
                    "two",
                    "large",
                    "tiny",
                    "background",
                    "horizontal",
                    "and",
                    "circle",
                    "checkerboard",
                    "thin",
                    "7",
                ]
            )
        ),
        max_size=8,
    )
)
def test_fuzzing_known_words(gen: ProceduralGenerator, words: list[str]) -> None:
    text = " ".join(words)
    assert gen.render(text, 1).size == (224, 224)


# --- vocabulary exposed to proposers --------------------------------------------------------


def test_vocabulary_sizes() -> None:
    assert len(COLOURS) >= 100
    assert len(PATTERNS) >= 12
    assert len(OUTLINES) >= 8
    assert set(PATTERN_WORDS) == set(PATTERNS)
    assert set(SHAPE_WORDS) - {"shape"} == set(OUTLINES)


def test_concept_lists_render_fully(gen: ProceduralGenerator) -> None:
    vocabulary, seeds, controls = gen.vocabulary(), gen.seed_concepts(), gen.control_prompts()
    assert 200 <= len(vocabulary) <= 800 and len(set(vocabulary)) == len(vocabulary)
    assert {"red stripes", "blue polka dots", "light blue", "stars"} <= set(vocabulary)
    assert 25 <= len(seeds) <= 40 and 50 <= len(controls) <= 70
    assert len(set(controls)) == len(controls)
    for concept in vocabulary + seeds + controls:
        assert gen.unrendered_words(concept) == [], concept
        assert not parse(concept).fallback


def test_control_prompts_span_the_renderer(gen: ProceduralGenerator) -> None:
    scenes = [parse(p) for p in gen.control_prompts()]
    kinds = {s.background.pattern.kind for s in scenes if s.background.pattern}
    kinds |= {s.shapes.fill.pattern.kind for s in scenes if s.shapes and s.shapes.fill.pattern}
    shapes = {k for s in scenes if s.shapes for k in s.shapes.kinds}
    assert kinds == set(PATTERNS)
    assert shapes == set(OUTLINES)


def test_render_speed(gen: ProceduralGenerator) -> None:
    concepts = gen.control_prompts()[:30]
    start = time.perf_counter()
    for concept in concepts:
        gen.render(concept, 7)
    per_image = (time.perf_counter() - start) / len(concepts)
    assert per_image < 0.15  # ~5 ms measured; generous for a shared machine
