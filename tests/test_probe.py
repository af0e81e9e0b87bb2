"""Probe: per-unit read-outs against hand-computed values; hooks never outlive a call."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers_models import (
    FixedConvNet,
    RaisingNet,
    TokenNet,
    all_hooks,
    make_target,
)
from PIL import Image

from line_core.errors import BackendError, ConfigError
from line_core.probe import (
    ActivationHook,
    layer_activations,
    multi_layer_activations,
    reduce_output,
)


def _batch() -> torch.Tensor:
    """Two 4x4 images with known pixels."""
    x = torch.zeros(2, 3, 4, 4)
    x[0, 0] = 1.0  # image 0: red everywhere
    x[0, 1, 0, 0] = 4.0  # one bright green pixel
    x[1, 2, :2] = 2.0  # image 1: blue top half
    return x


def test_conv_mean_and_max_match_hand_computed_values():
    target = make_target(FixedConvNet(), size=4)
    x = _batch()
    mean = layer_activations(target, "conv", x)
    peak = layer_activations(target, "conv", x, reduction="max")
    # channel 0 = R+G+B, channel 1 = R-B, channel 2 = 2G
    assert mean.dtype == np.float32 and mean.shape == (2, 3)
    np.testing.assert_allclose(mean[0], [1 + 4 / 16, 1.0, 8 / 16], rtol=1e-6)
    np.testing.assert_allclose(mean[1], [1.0, -1.0, 0.0], rtol=1e-6)
    np.testing.assert_allclose(peak[0], [5.0, 1.0, 8.0], rtol=1e-6)
    np.testing.assert_allclose(peak[1], [2.0, 0.0, 0.0], rtol=1e-6)


def test_two_d_output_is_read_as_is():
    target = make_target(FixedConvNet(), size=4)
    x = _batch()
    logits = layer_activations(target, "fc", x)
    with torch.no_grad():
        expected = target.model(x).numpy()
    np.testing.assert_allclose(logits, expected, rtol=1e-6)
    # fc = (c0 + c1, c2 - c0) of the channel means
    np.testing.assert_allclose(logits[1], [0.0, -1.0], atol=1e-6)


def test_token_outputs_read_cls_by_default_and_mean_or_max_on_request():
    target = make_target(TokenNet(), size=4)
    x = _batch()
    tokens = TokenNet().tokens(x)
    cls = layer_activations(target, "blocks.1", x)
    np.testing.assert_allclose(cls, tokens[:, 0].numpy())
    np.testing.assert_allclose(cls[0], [1.0, 4.0, 0.0])
    mean = layer_activations(target, "blocks.1", x, reduction="mean")
    np.testing.assert_allclose(mean, tokens.mean(dim=1).numpy(), rtol=1e-6)
    assert layer_activations(target, "blocks.1", x, reduction="max").shape == (2, 3)
    target.token_layout = "mean"  # a model without a CLS token
    np.testing.assert_allclose(layer_activations(target, "blocks.1", x), mean, rtol=1e-6)


def test_pil_images_and_tensor_batches_agree_and_batches_are_concatenated():
    target = make_target(FixedConvNet(), size=8)
    rng = np.random.default_rng(0)
    images = [Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)) for _ in range(5)]
    from_pil = layer_activations(target, "conv", images, batch_size=2)
    from_tensor = layer_activations(target, "conv", target.preprocess(images))
    assert from_pil.shape == (5, 3)
    np.testing.assert_allclose(from_pil, from_tensor, rtol=1e-6)


def test_multi_layer_activations_use_one_forward_per_batch():
    model = FixedConvNet()
    target = make_target(model, size=4)
    x = _batch().repeat(3, 1, 1, 1)  # 6 images
    both = multi_layer_activations(target, ["conv", "fc"], x, batch_size=4)
    assert model.after.calls == 2  # two batches, one forward each
    np.testing.assert_allclose(both["conv"], layer_activations(target, "conv", x))
    np.testing.assert_allclose(both["fc"], layer_activations(target, "fc", x))


def test_forward_stops_once_the_layer_has_its_output():
    model = FixedConvNet()
    target = make_target(model, size=4)
    layer_activations(target, "conv", _batch())
    assert model.after.calls == 0  # `after` runs after `conv`: skipped
    layer_activations(target, "fc", _batch())
    assert model.after.calls == 1
    with ActivationHook(model, ["conv"], stop_early=False) as hook:
        hook.run(_batch())
    assert model.after.calls == 2


def test_no_hook_outlives_a_call_normal_or_raising():
    model = FixedConvNet()
    target = make_target(model, size=4)
    layer_activations(target, "conv", _batch())
    multi_layer_activations(target, ["conv", "fc"], _batch())
    assert all_hooks(model) == 0

    raising = RaisingNet()
    target = make_target(raising, size=4)
    with pytest.raises(BackendError, match="failed in its forward pass: ValueError: boom"):
        layer_activations(target, "head", _batch())  # the forward raises before `head`
    assert all_hooks(raising) == 0
    with pytest.raises(ValueError, match="boom"):  # a bare hook context re-raises as it is
        with ActivationHook(raising, ["conv", "head"]):
            raising(_batch())
    assert all_hooks(raising) == 0
    raising.boom.armed = False
    assert layer_activations(target, "head", _batch()).shape == (2, 2 * 4 * 4)


def test_model_mode_is_restored_and_no_grad_is_recorded():
    model = FixedConvNet()
    target = make_target(model, size=4)
    model.train()
    acts = layer_activations(target, "conv", _batch())
    assert model.training
    assert isinstance(acts, np.ndarray)


def test_bad_requests_raise_config_errors():
    target = make_target(FixedConvNet(), size=4)
    with pytest.raises(ConfigError, match="unknown reduction 'median'"):
        layer_activations(target, "conv", _batch(), reduction="median")
    with pytest.raises(ConfigError, match="'cls' needs token outputs"):
        layer_activations(target, "conv", _batch(), reduction="cls")
    with pytest.raises(ConfigError, match="layer 'nope' not found"):
        layer_activations(target, "nope", _batch())
    with pytest.raises(ConfigError, match="batch_size"):
        layer_activations(target, "conv", _batch(), batch_size=0)
    with pytest.raises(ConfigError, match="must be \\[N, C, H, W\\]"):
        layer_activations(target, "conv", torch.zeros(3, 4, 4))
    assert all_hooks(target.model) == 0


def test_reduce_output_rejects_unreadable_shapes():
    with pytest.raises(ConfigError, match="cannot read units"):
        reduce_output(torch.zeros(5))
    assert reduce_output(torch.ones(2, 7)).shape == (2, 7)


def test_empty_image_list_gives_an_empty_array():
    target = make_target(FixedConvNet(), size=4)
    assert layer_activations(target, "conv", []).shape[0] == 0
