"""Picklable image preprocessing: PIL images -> one normalised input batch."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def to_rgb(image: Image.Image) -> Image.Image:
    """Return the image in RGB mode (alpha is composited on white)."""
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


@dataclass(frozen=True)
class ImagePreprocess:
    """Resize the shorter side, centre-crop, scale to [0, 1] and normalise.

    A dataclass rather than a closure so that targets can be pickled into worker processes.
    ``resize`` is the shorter-side length before cropping (``None`` = ``size``).
    """

    size: int = 224
    resize: int | None = None
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    interpolation: int = Image.Resampling.BILINEAR

    def __call__(self, images: Sequence[Image.Image]) -> torch.Tensor:
        """Preprocess a sequence of PIL images into a float32 batch [N, 3, size, size]."""
        if isinstance(images, Image.Image):
            images = [images]
        arrays = [self._one(image) for image in images]
        if not arrays:
            return torch.zeros(0, 3, self.size, self.size)
        batch = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2)
        mean = torch.tensor(self.mean).view(1, 3, 1, 1)
        std = torch.tensor(self.std).view(1, 3, 1, 1)
        return ((batch - mean) / std).contiguous()

    def _one(self, image: Image.Image) -> np.ndarray:
        image = to_rgb(image)
        short = self.resize or self.size
        width, height = image.size
        scale = short / min(width, height)
        new_w, new_h = max(short, round(width * scale)), max(short, round(height * scale))
        if (new_w, new_h) != (width, height):
            image = image.resize((new_w, new_h), self.interpolation)
        left, top = (new_w - self.size) // 2, (new_h - self.size) // 2
        if (new_w, new_h) != (self.size, self.size):
            image = image.crop((left, top, left + self.size, top + self.size))
        return np.asarray(image, dtype=np.float32) / 255.0


@dataclass(frozen=True)
class PerImageTransform:
    """Apply a per-image transform (e.g. torchvision's or timm's) and stack the results."""

    transform: Callable[[Image.Image], torch.Tensor]

    def __call__(self, images: Sequence[Image.Image]) -> torch.Tensor:
        """Transform each image (converted to RGB) and stack into one batch."""
        if isinstance(images, Image.Image):
            images = [images]
        return torch.stack([self.transform(to_rgb(image)) for image in images])


def imagenet_preprocess(size: int = 224, resize: int | None = 256) -> ImagePreprocess:
    """The usual ImageNet evaluation preprocessing (resize 256, crop 224, mean/std)."""
    return ImagePreprocess(size=size, resize=resize, mean=IMAGENET_MEAN, std=IMAGENET_STD)
