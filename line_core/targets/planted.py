"""The planted model: a synthetic network whose units respond to known concepts.

Used to check the whole pipeline (does LINE recover the planted concept?) and as the benchmark's
ground truth. Nothing is trained: every activation is a fixed, known function of the pixels
(see :mod:`line_core.targets.planted_features` and :mod:`line_core.targets.planted_units`).

Layers: ``colour`` [N, 9, 112, 112] colour fractions, ``texture`` [N, 5, 112, 112] pattern maps,
``unit_maps`` [N, U, 112, 112] planted unit maps, ``units`` [N, U] their spatial means (in [0, 1]).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from line_core.targets.base import TARGETS, Target
from line_core.targets.planted_features import COLOURS, PATTERNS, ColourMaps, PatternMaps
from line_core.targets.planted_units import planted_units
from line_core.targets.preprocess import ImagePreprocess

#: How each planted unit is computed from the colour and texture maps: ("map", name),
#: ("and", colour, pattern) or ("or", a, b) where a / b are colour or pattern names.
UNIT_RECIPES: tuple[tuple[str, ...], ...] = (
    ("map", "red"),
    ("map", "green"),
    ("map", "blue"),
    ("map", "yellow"),
    ("map", "purple"),
    ("map", "horizontal"),
    ("map", "vertical"),
    ("map", "diagonal"),
    ("map", "checkerboard"),
    ("map", "dots"),
    ("and", "yellow", "horizontal"),
    ("and", "blue", "dots"),
    ("or", "red", "vertical"),
    ("or", "green", "checkerboard"),
)


class PlantedUnitMaps(nn.Module):
    """Combine colour and texture maps into one map per planted unit.

    ``recipes`` are in the :data:`UNIT_RECIPES` format (the planted model's own by default).
    """

    def __init__(
        self,
        neighbourhood: int = 9,
        presence_gain: float = 5.0,
        recipes: tuple[tuple[str, ...], ...] = UNIT_RECIPES,
    ) -> None:
        super().__init__()
        self.recipes = tuple(recipes)
        self.neighbourhood = neighbourhood
        self.presence_gain = presence_gain

    def forward(self, colour: torch.Tensor, texture: torch.Tensor) -> torch.Tensor:
        """[N, 9, h, w] colour and [N, 5, h, w] texture maps -> [N, U, h, w] unit maps."""
        maps = {name: colour[:, i] for i, name in enumerate(COLOURS)}
        maps.update({name: texture[:, i] for i, name in enumerate(PATTERNS)})
        units = []
        for recipe in self.recipes:
            if recipe[0] == "map":
                units.append(maps[recipe[1]])
            elif recipe[0] == "and":
                units.append(torch.minimum(self._presence(maps[recipe[1]]), maps[recipe[2]]))
            else:
                units.append(torch.maximum(maps[recipe[1]], maps[recipe[2]]))
        return torch.stack(units, dim=1)

    def _presence(self, fraction: torch.Tensor) -> torch.Tensor:
        """Is the colour present nearby (stripes of it alternate with other colours)."""
        k = self.neighbourhood
        local = F.avg_pool2d(
            fraction[:, None], k, stride=1, padding=k // 2, count_include_pad=False
        )
        return (self.presence_gain * local[:, 0]).clamp(max=1.0)


class SpatialMean(nn.Module):
    """[N, C, H, W] -> [N, C]."""

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        """Average over space."""
        return maps.mean(dim=(2, 3))


class PlantedModel(nn.Module):
    """Images [N, 3, 224, 224] in [0, 1] -> planted unit activations [N, U] in [0, 1]."""

    def __init__(self) -> None:
        super().__init__()
        self.colour = ColourMaps()
        self.texture = PatternMaps()
        self.unit_maps = PlantedUnitMaps()
        self.units = SpatialMean()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Planted unit activations."""
        colour = self.colour(images)
        texture = self.texture(images)
        return self.units(self.unit_maps(colour, texture))


@TARGETS.register(
    "planted",
    "synthetic model with planted colour / pattern / AND / OR units (ground truth for checks)",
)
def planted() -> Target:
    """The planted model as a Target (default unit 0, "red")."""
    units = planted_units()
    if len(units) != len(UNIT_RECIPES):
        raise RuntimeError("planted_units() and UNIT_RECIPES disagree")  # a programming error
    return Target(
        name="planted",
        model=PlantedModel().eval(),
        preprocess=ImagePreprocess(size=224),
        description="synthetic model whose units respond to known colours and patterns",
        default_layer="units",
        default_neuron=0,
        class_names=None,
        input_size=224,
        extra={"planted_units": units},
    )
