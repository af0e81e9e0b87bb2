"""Image-side colour evidence: fractions of rendered images, hints, and the probes they make."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from line_core.analysis.attributes import COLOUR_FAMILIES
from line_core.analysis.image_colours import colour_fractions, colour_hints, run_colour_hints
from line_core.concepts import Score, ScoredConcept
from line_core.engine.probes import colour_tests, plan_probes
from line_core.generators.procedural.generator import ProceduralGenerator

GREEN = COLOUR_FAMILIES.index("green")


def share(fractions: tuple[float, ...] | None, family: str) -> float:
    """One family's share of an image."""
    assert fractions is not None
    return fractions[COLOUR_FAMILIES.index(family)]


def test_fractions_read_the_pixels_with_the_colour_word_rule(tmp_path):
    pixels = np.zeros((64, 64, 3), dtype=np.uint8)
    pixels[:, :32] = (30, 160, 30)  # the renderer's "green"
    pixels[:, 32:] = (255, 255, 255)
    Image.fromarray(pixels).save(tmp_path / "half.png")
    shares = colour_fractions(str(tmp_path / "half.png"))
    assert share(shares, "green") == pytest.approx(0.5, abs=0.05)
    assert share(shares, "white") == pytest.approx(0.5, abs=0.05)
    (tmp_path / "broken.png").write_bytes(b"not a png")
    assert colour_fractions(str(tmp_path / "broken.png")) is None
    assert colour_fractions(str(tmp_path / "missing.png")) is None


def test_the_colour_of_the_firing_images_is_the_hint():
    rng = np.random.default_rng(0)
    fractions = rng.dirichlet(np.ones(len(COLOUR_FAMILIES)), size=40)
    activations = np.full(40, 0.1)
    fractions[:6, GREEN] += 1.5  # six images rich in green fire
    fractions /= fractions.sum(axis=1, keepdims=True)
    activations[:6] = 2.0
    hints = colour_hints(activations, fractions, baseline=0.1)
    assert hints and hints[0].family == "green"
    assert hints[0].firing_share > 0.5
    # nothing fires: no hint; fewer than two images: no hint
    assert colour_hints(np.full(40, 0.1), fractions, baseline=0.1) == []
    assert colour_hints([2.0], fractions[:1], baseline=0.1) == []


def test_hints_from_rendered_images_name_the_colour_a_unit_needs(tmp_path):
    generator = ProceduralGenerator()
    records = []
    for concept, fires in [("green diagonal stripes", 1.0), ("red diagonal stripes", 0.0),
                           ("blue circles", 0.0), ("yellow", 0.0), ("checkerboard", 0.0)]:
        paths = []
        for seed in range(4):
            name = f"{concept.replace(' ', '-')}-{seed}.png"
            generator.render(concept, seed).save(tmp_path / name)
            paths.append(name)
        records.append(SimpleNamespace(activations=(fires,) * 4, images=tuple(paths)))
    hints = run_colour_hints(records, tmp_path, baseline=0.0)
    assert [h.family for h in hints][:1] == ["green"]


def test_a_hinted_colour_is_tested_alone_and_in_the_best_pattern():
    made = {p.concept for p in colour_tests("diagonal stripes", ["green", "gray"])}
    assert {"green diagonal stripes", "green"} <= made
    assert colour_tests("green diagonal stripes", ["green"]) == []  # already named


def test_colour_hints_come_first_in_the_probe_batch():
    def scored(concept: str, auc: float, mean: float) -> ScoredConcept:
        return ScoredConcept(concept, Score(auc=auc, mad=mean, mean_activation=mean), "lexicon")

    scores = {c.concept: c for c in [scored("diagonal stripes", 0.8, 1.0),
                                     scored("waves", 0.5, 0.0)]}
    probes = plan_probes(scores, 0.0, ["cyan"], lambda c: c not in scores, seed=0,
                         colours=["green"])
    assert [p.concept for p in probes[:2]] == ["green diagonal stripes", "green"]
