"""Image generators: the ImageGenerator protocol and its registry."""

from line_core.generators.base import GENERATORS, ImageGenerator

__all__ = ["GENERATORS", "ImageGenerator"]
