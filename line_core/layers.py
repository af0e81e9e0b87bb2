"""Layer discovery (one dry forward with hooks) and unit validation for a Target."""

from __future__ import annotations

import difflib
import numbers

import torch
from PIL import Image

from line_core.errors import ConfigError
from line_core.probe import ActivationHook, target_device
from line_core.targets.base import Target

_CACHE_KEY = "layer_units"


def unit_count(output: object) -> int | None:
    """Units of one layer output: channels of [N,C,H,W], last dim of [N,T,D] and [N,D]."""
    if not isinstance(output, torch.Tensor):
        return None
    if output.dim() == 4:
        return int(output.shape[1])
    if output.dim() in (2, 3):
        return int(output.shape[-1])
    return None


def list_layers(target: Target) -> dict[str, int]:
    """Readable layers of the target and their unit counts, in module order.

    Found by ONE forward pass of one blank image with hooks on every named submodule; the result
    is cached on the target. Modules whose output is not a tensor of a readable shape are left
    out, and so are modules called more than once per forward (e.g. one activation function
    shared by several blocks), whose output would be ambiguous.
    """
    cached = target.extra.get(_CACHE_KEY)
    if isinstance(cached, dict):
        return dict(cached)
    names = [name for name, _ in target.model.named_modules() if name]
    blank = Image.new("RGB", (target.input_size, target.input_size), (128, 128, 128))
    batch = target.preprocess([blank]).to(target_device(target))
    model = target.model
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode(), ActivationHook(model, names, stop_early=False) as hook:
            hook.run(batch)
    finally:
        model.train(was_training)
    layers: dict[str, int] = {}
    for name in names:
        units = unit_count(hook.outputs.get(name))
        if units is not None and hook.calls.get(name, 0) == 1:
            layers[name] = units
    target.extra[_CACHE_KEY] = dict(layers)
    return layers


def check_unit(target: Target, layer: str, neuron: int) -> int:
    """Check that ``layer`` is readable and ``neuron`` is in range; return the unit count.

    Raises ConfigError with one line: a few valid layers (close matches first) or the valid range.
    """
    layers = list_layers(target)
    if layer not in layers:
        names = list(layers)
        close = difflib.get_close_matches(layer, names, n=4, cutoff=0.5)
        examples = close or (names[:2] + names[-3:] if len(names) > 5 else names)
        shown = ", ".join(dict.fromkeys(examples))
        raise ConfigError(
            f"layer '{layer}' is not a readable layer of {target.name} "
            f"(e.g. {shown}); run `line layers {target.name}` for all"
        )
    units = layers[layer]
    if (
        isinstance(neuron, bool)
        or not isinstance(neuron, numbers.Integral)
        or not 0 <= neuron < units
    ):
        raise ConfigError(
            f"neuron {neuron!r} is out of range for {target.name} layer '{layer}': "
            f"choose 0..{units - 1}"
        )
    return units
