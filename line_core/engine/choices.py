"""What a caller can choose, and the backends it names: registries, layers, loaded models.

The dashboard keeps loaded backends in its own cache and passes them to the door
(``start(config, target=..., generator=..., proposer=...)``); it loads them through these
functions, so it never reaches into the registries or assembles a run itself.
"""

from __future__ import annotations

from typing import Any

from line_core.atlas import open_atlas
from line_core.config import ExplainConfig
from line_core.control import ControlSet, load_control
from line_core.generators import GENERATORS, ImageGenerator
from line_core.layers import list_layers
from line_core.neurons import NeuronMatch, find_neurons
from line_core.proposers import PROPOSERS, ConceptProposer
from line_core.registry import Registry
from line_core.targets import TARGETS, Target, describe_models, load_target

REGISTRIES: dict[str, Registry[Any]] = {
    "model": TARGETS,
    "generator": GENERATORS,
    "proposer": PROPOSERS,
}


def registry_entries(kind: str) -> list[Any]:
    """Entries (name, description, takes_argument) of the model/generator/proposer registry."""
    return REGISTRIES[kind].entries()


def is_code_spec(spec: str) -> bool:
    """Whether a model spec names the user's own code (loading it imports and runs it).

    A registered name or a registered ``family:ARG`` is not code; anything else with a ':'
    (``module:callable``, ``path/file.py:callable``) is.
    """
    spec = (spec or "").strip()
    if ":" not in spec:
        return False
    entries = {e.name: e for e in TARGETS.entries()}
    if spec in entries:
        return False
    family = spec.partition(":")[0]
    return not (family in entries and entries[family].takes_argument)


def models() -> dict[str, str]:
    """Model specs as a user types them, with one-line descriptions."""
    return describe_models()


def target(spec: str) -> Target:
    """A loaded vision model (runs the code of a ``module:callable`` spec: confirm first)."""
    return load_target(spec)


def layers(model: Target) -> dict[str, int]:
    """Readable layers of a loaded model and their unit counts, in module order."""
    return dict(list_layers(model))


def generator(spec: str) -> ImageGenerator:
    """A loaded image generator."""
    return GENERATORS.create(spec)


def proposer(spec: str, image_generator: ImageGenerator, seed: int) -> ConceptProposer:
    """A loaded concept proposer for a generator."""
    return PROPOSERS.create(spec, generator=image_generator, seed=seed)


def control_set(config: ExplainConfig, model: Target, layer: str,
                image_generator: ImageGenerator) -> ControlSet:
    """The layer's control activations for a config (cached on disk per model and layer)."""
    atlas = (open_atlas(model, layer, image_generator, config.reduction) if config.atlas
             else None)
    return load_control(config.control, model, layer, image_generator,
                        size=config.control_size, reduction=config.reduction, atlas=atlas)


def neurons_for(config: ExplainConfig, model: Target, layer: str, image_generator: ImageGenerator,
                control: ControlSet, concept: str, top: int = 15) -> list[NeuronMatch]:
    """Units of ``layer`` ranked by their response to a typed concept."""
    atlas = (open_atlas(model, layer, image_generator, config.reduction) if config.atlas
             else None)
    return find_neurons(model, layer, image_generator, concept, control.activations,
                        n_images=max(config.images_per_concept, 6), seed=config.seed, top=top,
                        reduction=config.reduction, atlas=atlas)
