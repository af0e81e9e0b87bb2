"""What an atlas's rows depend on, and its digest: a changed input never reuses stale rows.

An activation row is a function of the image (generator, its settings, the concept, the seed),
the model (its weights), the layer, the read-out that reduces the layer's output to one value
per unit, and the preprocessing that turns the image into the model's input. Each is
fingerprinted from what it DOES where that is cheap (the preprocessing of a fixed probe image,
a procedural generator's render of a probe concept, samples of the weights), not from names.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image

from line_core.generators.base import ImageGenerator
from line_core.targets.base import Target

#: Bump when the atlas's files change meaning (old atlases are then never read).
ATLAS_FORMAT = 1
_SIMPLE = (str, int, float, bool, type(None))


def model_fingerprint(target: Target) -> str:
    """A hash of a model's identity: its name and every tensor's name, shape and bytes.

    Every weight counts (a changed value anywhere changes the hash); hashing is one pass over
    the weights (about 20 ms for EfficientNet-Lite0's 19 MB).
    """
    digest = hashlib.sha256(target.name.encode())
    with torch.no_grad():
        for name, tensor in target.model.state_dict().items():
            digest.update(name.encode())
            digest.update(f"{tuple(tensor.shape)} {tensor.dtype}".encode())
            flat = tensor.detach().reshape(-1).contiguous()
            try:
                digest.update(flat.view(torch.uint8).cpu().numpy())
            except (RuntimeError, TypeError):  # exotic dtypes (quantized): their text form
                digest.update(repr(flat.cpu()).encode())
    return digest.hexdigest()[:16]


def _probe_image(size: int = 97) -> Image.Image:
    """A fixed, asymmetric colour image (resizing, cropping and normalising all change it)."""
    y, x = np.mgrid[0:size, 0:size]
    pixels = np.stack([x * 255 // size, y * 255 // size, (x * y) % 256], axis=-1)
    return Image.fromarray(pixels.astype(np.uint8), "RGB")


def preprocess_fingerprint(target: Target) -> str:
    """A hash of what the model's preprocessing makes of a fixed probe image."""
    tensor = target.preprocess([_probe_image()])
    values = tensor.detach().float().cpu().numpy()
    digest = hashlib.sha256(str(values.shape).encode())
    digest.update(np.round(values, 4).tobytes())
    return digest.hexdigest()[:16]


def generator_settings(generator: ImageGenerator) -> dict[str, Any]:
    """The settings that change a generator's images (its config, or its simple attributes)."""
    config = getattr(generator, "config", None)
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        raw = dataclasses.asdict(config)
    else:
        raw = dict(vars(generator)) if hasattr(generator, "__dict__") else {}
    settings = {
        k: (v if isinstance(v, _SIMPLE) else repr(v))
        for k, v in sorted(raw.items())
        if not k.startswith(("_", "last_")) and k not in ("pipeline",)
    }
    probe = getattr(generator, "fingerprint", None)
    if callable(probe):
        settings["render"] = probe()
    return settings


@dataclass(frozen=True)
class AtlasKey:
    """Everything an atlas's rows depend on; ``digest`` names the atlas's folder."""

    generator: str
    generator_settings: str
    model: str
    model_weights: str
    layer: str
    reduction: str
    preprocess: str
    format: int = ATLAS_FORMAT

    @classmethod
    def of(cls, target: Target, layer: str, generator: ImageGenerator,
           reduction: str = "auto") -> AtlasKey:
        """The key of the atlas of ``layer`` of ``target`` rendered by ``generator``."""
        settings = json.dumps(generator_settings(generator), sort_keys=True, default=str)
        return cls(
            generator=generator.name,
            generator_settings=settings,
            model=target.name,
            model_weights=model_fingerprint(target),
            layer=layer,
            reduction=reduction,
            preprocess=preprocess_fingerprint(target),
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (the atlas's ``key.json``)."""
        return dataclasses.asdict(self)

    @property
    def digest(self) -> str:
        """A short hash of every field: two keys share a digest only if all fields match."""
        text = json.dumps(self.to_dict(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:20]

    @property
    def title(self) -> str:
        """A human name: 'efficientnet_lite0 / _conv_head / procedural'."""
        return f"{self.model} / {self.layer} / {self.generator}"
