"""Image generators: the ImageGenerator protocol and its registry."""

import line_core.generators.diffusion  # noqa: F401  (registers the diffusers backends)
import line_core.generators.procedural  # noqa: F401  (registers the procedural renderer)
from line_core.generators.base import GENERATORS, ImageGenerator

__all__ = ["GENERATORS", "ImageGenerator"]
