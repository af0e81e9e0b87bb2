"""Find neurons: every unit of a layer ranked by its response to a typed concept."""

from __future__ import annotations

import numpy as np
import pytest
from helpers_models import FixedConvNet, make_target

from line_core.errors import ConfigError
from line_core.neurons import find_neurons, rank_units, unit_aucs
from line_core.scoring import auc, mad


def test_unit_aucs_match_the_scoring_module_with_ties():
    rng = np.random.default_rng(0)
    concept = rng.integers(0, 4, size=(7, 5)).astype(float)
    control = rng.integers(0, 4, size=(30, 5)).astype(float)
    expected = [auc(concept[:, u], control[:, u]) for u in range(5)]
    assert np.allclose(unit_aucs(concept, control), expected)


def test_rank_units_orders_by_auc_then_mad():
    rng = np.random.default_rng(1)
    control = rng.normal(size=(40, 4))
    concept = rng.normal(size=(6, 4))
    concept[:, 2] += 10.0  # unit 2 fires strongly: AUC 1, largest MAD
    concept[:, 0] += 5.0  # unit 0 also separates perfectly, smaller MAD
    ranked = rank_units(concept, control, top=None)
    assert [m.unit for m in ranked[:2]] == [2, 0]
    assert ranked[0].auc == 1.0 and ranked[1].auc == 1.0
    assert ranked[0].mad == pytest.approx(mad(concept[:, 2], control[:, 2]))
    assert len(rank_units(concept, control, top=2)) == 2


def test_rank_units_rejects_mismatched_shapes():
    with pytest.raises(ConfigError, match="do not match"):
        rank_units(np.zeros((3, 4)), np.zeros((10, 5)))


class _Solid:
    """A generator drawing plain colour images named by the concept (for a known answer)."""

    name = "solid"
    colours = {"green": (0, 200, 0), "red": (200, 0, 0), "grey": (120, 120, 120)}

    def generate(self, concept, seeds):
        from PIL import Image

        rng = np.random.default_rng(len(seeds))
        base = np.array(self.colours[concept], dtype=float)
        return [
            Image.fromarray(np.clip(base + rng.normal(0, 10, (8, 8, 3)), 0, 255).astype(np.uint8))
            for _ in seeds
        ]


def test_find_neurons_ranks_the_green_unit_first():
    target = make_target(FixedConvNet())
    generator = _Solid()
    from line_core.probe import layer_activations

    control_images = generator.generate("grey", list(range(20))) + generator.generate(
        "red", list(range(20))
    )
    control = layer_activations(target, "conv", control_images)
    ranked = find_neurons(target, "conv", generator, "green", control, n_images=6)
    # conv channel 2 = 2G, the only unit that grows with green and not with red or grey.
    assert ranked[0].unit == 2 and ranked[0].auc == 1.0
    keys = [m.rank_key for m in ranked]
    assert keys == sorted(keys, reverse=True)


def test_find_neurons_rejects_empty_concepts():
    target = make_target(FixedConvNet())
    with pytest.raises(ConfigError, match="type a concept"):
        find_neurons(target, "conv", _Solid(), "  ", np.zeros((10, 3)))
