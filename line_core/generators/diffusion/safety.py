"""Detecting images a safety checker blacked out, and the seed used to render them again."""

from __future__ import annotations

import numpy as np
from PIL import Image

#: Flagged images carry this key in ``image.info`` (besides the generator's ``last_flagged``).
FLAG_KEY = "line_blacked_out"

#: A grey image whose brightest pixel is at most this is black.
MAX_BLACK = 10
#: A grey image whose pixel standard deviation is below this is one flat colour.
MIN_SPREAD = 2.0


def is_blank(image: Image.Image) -> bool:
    """True for an all-black or near-constant image (what a safety checker returns)."""
    grey = np.asarray(image.convert("L"), dtype=np.float32)
    return bool(grey.max() <= MAX_BLACK or grey.std() < MIN_SPREAD)


def needs_retry(image: Image.Image, nsfw_flag: bool | None) -> bool:
    """True when an image must not be scored: flagged by the pipeline, or blank."""
    return bool(nsfw_flag) or is_blank(image)


def retry_seed(seed: int) -> int:
    """A second seed derived from ``seed`` (deterministic, far from small seeds)."""
    return (seed * 6364136223846793005 + 1442695040888963407) % 2**63
