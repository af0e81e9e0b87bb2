"""The diffusers text-to-image backend: presets, the ``diffusers:`` family, the generator.

Importing this package registers ``sd-turbo``, ``sdxl-turbo``, ``sdxl-base``, ``flux-schnell``
and ``diffusers:MODEL_ID_OR_PATH`` in ``GENERATORS``. Weights load lazily, on the first image.
"""

from line_core.generators.diffusion.config import DiffusionConfig, resolve_device, resolve_dtype
from line_core.generators.diffusion.generator import DiffusionGenerator
from line_core.generators.diffusion.presets import PRESETS, make_generator, preset

__all__ = [
    "PRESETS",
    "DiffusionConfig",
    "DiffusionGenerator",
    "make_generator",
    "preset",
    "resolve_device",
    "resolve_dtype",
]
