"""Image-side evidence: which colours the images that make the unit fire are made of.

The loop's probes read words; a unit that needs green stripes, or an orange that covers most of
the picture, can hide behind a phrase that never names the colour ("diagonal stripes" drawn in
random colours fires only on its green draws). Every scored image is already in the run folder
with its activation, so the colours of the firing images are evidence for free:

* each image's *colour fractions*: the share of its pixels (on a 32 x 32 thumbnail) in each
  basic colour family, with the same rule that reads colour words
  (:func:`line_core.analysis.attributes.colour_families`);
* each image's *firing weight*: its rise above the control mean relative to the strongest image
  of the run, clipped to [0, 1];
* a family's *enrichment*: its mean fraction weighted by firing minus its mean fraction over
  all images. A family at least :data:`MIN_ENRICHMENT` richer in the firing images is a hint.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from line_core.analysis.attributes import COLOUR_FAMILIES, colour_families

#: A colour is a hint when the firing images hold this much more of it (share of image area).
MIN_ENRICHMENT = 0.15
#: Side of the thumbnail the fractions are read from.
THUMBNAIL = 32


@dataclass(frozen=True)
class ColourHint:
    """A colour family richer in the firing images than in the run's images overall."""

    family: str
    enrichment: float
    firing_share: float


@lru_cache(maxsize=4096)
def colour_fractions(path: str) -> tuple[float, ...] | None:
    """Share of an image's pixels in each of :data:`COLOUR_FAMILIES` (None if unreadable).

    Cached by path: run images are named by their pixels' hash, so a path never changes.
    """
    try:
        with Image.open(path) as image:
            thumb = np.asarray(image.convert("RGB").resize((THUMBNAIL, THUMBNAIL)))
    except (OSError, UnidentifiedImageError, ValueError):
        return None
    families = colour_families(thumb)
    return tuple(float(np.mean(families == name)) for name in COLOUR_FAMILIES)


def colour_hints(
    activations: Sequence[float],
    fractions: Sequence[Sequence[float]],
    baseline: float,
    min_enrichment: float = MIN_ENRICHMENT,
) -> list[ColourHint]:
    """Colour families enriched in the firing images, most enriched first (see module doc)."""
    values = np.asarray(activations, dtype=np.float64)
    shares = np.asarray(fractions, dtype=np.float64)
    if len(values) < 2 or shares.shape != (len(values), len(COLOUR_FAMILIES)):
        return []
    span = float(values.max()) - baseline
    if not np.isfinite(span) or span <= 1e-12:
        return []
    firing = np.clip((values - baseline) / span, 0.0, 1.0)
    if firing.sum() < 1.0:  # not even one image's worth of firing
        return []
    weighted = (firing[:, None] * shares).sum(axis=0) / firing.sum()
    enrichment = weighted - shares.mean(axis=0)
    order = np.argsort(-enrichment, kind="stable")
    return [
        ColourHint(COLOUR_FAMILIES[i], float(enrichment[i]), float(weighted[i]))
        for i in order
        if enrichment[i] >= min_enrichment
    ]


def run_colour_hints(
    records: Sequence[object], run_dir: Path, baseline: float
) -> list[ColourHint]:
    """:func:`colour_hints` over every stored image of the records (``activations``/``images``)."""
    activations: list[float] = []
    fractions: list[tuple[float, ...]] = []
    for record in records:
        pairs = zip(getattr(record, "activations", ()), getattr(record, "images", ()), strict=False)
        for activation, image in pairs:
            shares = colour_fractions(str(run_dir / image))
            if shares is not None and np.isfinite(activation):
                activations.append(float(activation))
                fractions.append(shares)
    return colour_hints(activations, fractions, baseline)
