"""Pre-flight checks: dead/constant units, duplicate layers, small control sets."""

from __future__ import annotations

import numpy as np
import pytest
from helpers_models import FixedConvNet, make_target
from PIL import Image

from line_core.control import ControlSet
from line_core.engine.preflight import (
    check_control_size,
    check_duplicate_layers,
    check_unit_activity,
    duplicate_layers,
    preflight,
    same_activations,
)
from line_core.layers import list_layers


def _images(n: int = 4) -> list[Image.Image]:
    rng = np.random.default_rng(0)
    return [Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)) for _ in range(n)]


def test_dead_unit_is_reported():
    [warning] = check_unit_activity(np.zeros(60), neuron=3)
    assert "unit 3 is dead" in warning and "60 control images" in warning


def test_constant_unit_is_reported():
    [warning] = check_unit_activity(np.full(40, 2.5))
    assert "constant (2.5)" in warning


def test_mostly_constant_unit_is_reported():
    values = np.zeros(50)
    values[:5] = [1.0, 2.0, 3.0, 4.0, 5.0]
    [warning] = check_unit_activity(values)
    assert "90%" in warning and "mostly inactive" in warning


def test_active_unit_passes():
    assert check_unit_activity(np.random.default_rng(1).normal(size=60)) == []


def test_non_finite_and_empty_units():
    assert "non-finite" in check_unit_activity([1.0, np.nan, 2.0])[0]
    assert "empty" in check_unit_activity([])[0]


@pytest.mark.parametrize(
    ("n", "per_concept", "expected"),
    [(5, 5, "at least 10"), (20, 5, "saturate"), (30, 10, "saturate"), (60, 5, None)],
)
def test_control_size(n, per_concept, expected):
    warnings = check_control_size(n, per_concept)
    if expected is None:
        assert warnings == []
    else:
        assert len(warnings) == 1 and expected in warnings[0]


def test_same_activations_tolerates_float_noise_only():
    a = np.random.default_rng(2).normal(size=(4, 3))
    assert same_activations(a, a + 1e-9)
    assert not same_activations(a, a + 1e-2)
    assert not same_activations(a, a[:, :2])


def test_duplicate_layers_finds_identity_and_pooling_twins():
    target = make_target(FixedConvNet())
    layers = list_layers(target)
    found = duplicate_layers(target, "conv", _images(), layers)
    # `after` is an identity: the same tensor. `pool`/`flat` equal the conv map's spatial mean
    # (the read-out) by construction but not its max, so they are not reported.
    assert found == ["after"]
    assert duplicate_layers(target, "fc", _images(), layers) == []
    [warning] = check_duplicate_layers("conv", found)
    assert "'conv' gives exactly the same activations" in warning


def test_preflight_combines_checks():
    target = make_target(FixedConvNet())
    rng = np.random.default_rng(3)
    activations = rng.normal(size=(12, 2))
    activations[:, 1] = 0.0
    control = ControlSet(activations=activations, refs=["x"] * 12, description="test")
    layers = list_layers(target)
    warnings = preflight(target, "fc", 1, control, 5, images=_images(), layers=layers)
    assert any("dead" in w for w in warnings)
    assert any("saturate" in w for w in warnings)
    assert not any("same activations" in w for w in warnings)
    clean = preflight(target, "fc", 0, control, 2)
    assert not any("dead" in w for w in clean)
