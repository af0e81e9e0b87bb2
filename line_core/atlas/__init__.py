"""The concept atlas: every concept rendered once, full layer activation rows shared by every unit.

An atlas belongs to one (generator settings, model, layer, read-out, preprocessing): see
:mod:`line_core.atlas.key`. Every scoring path measures through it
(:func:`line_core.atlas.measure.measure_concepts`), so a concept any neuron or run has tried is
never rendered or forwarded again for that layer.
"""

from __future__ import annotations

from line_core.atlas.key import AtlasKey
from line_core.atlas.store import Atlas, AtlasEntry, atlas_root
from line_core.generators.base import ImageGenerator
from line_core.targets.base import Target

__all__ = ["Atlas", "AtlasEntry", "AtlasKey", "atlas_root", "open_atlas"]


def open_atlas(target: Target, layer: str, generator: ImageGenerator,
               reduction: str = "auto") -> Atlas:
    """The atlas of a layer as ``generator`` renders it (created empty on first use)."""
    return Atlas.open(AtlasKey.of(target, layer, generator, reduction))
