"""The Target type (a vision model ready to probe) and the target registry."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from PIL import Image

from line_core.registry import Registry

Preprocess = Callable[[Sequence[Image.Image]], torch.Tensor]


@dataclass
class Target:
    """A vision model with its preprocessing and metadata.

    ``preprocess`` maps PIL images to one input batch. ``default_layer`` / ``default_neuron``
    name a unit that visibly responds to something the offline renderer draws (if known).
    ``token_layout`` is "cls" for ViT-style token outputs whose first token is CLS ("mean" when
    the model has no CLS token: token outputs are then read out as the token mean).
    ``extra`` holds backend details (e.g. ``extra["layer_units"]``, the cached layer listing).
    """

    name: str
    model: torch.nn.Module
    preprocess: Preprocess
    description: str = ""
    default_layer: str | None = None
    default_neuron: int | None = None
    class_names: list[str] | None = None
    input_size: int = 224
    extra: dict[str, object] = field(default_factory=dict)
    token_layout: str = "cls"


TARGETS: Registry[Target] = Registry("model")
