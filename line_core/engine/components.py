"""Build and validate the components of a run from its configuration, before anything is written."""

from __future__ import annotations

from dataclasses import dataclass

from line_core.atlas import Atlas, open_atlas
from line_core.config import LIMITS, ExplainConfig
from line_core.control import ControlSet, load_control
from line_core.errors import ConfigError
from line_core.generators import GENERATORS, ImageGenerator
from line_core.layers import check_unit
from line_core.proposers import PROPOSERS, ConceptProposer
from line_core.proposers.fallback import repeat_fallback
from line_core.targets import Target, load_target


@dataclass
class Components:
    """A run's resolved backends and its control activations."""

    target: Target
    layer: str
    neuron: int
    generator: ImageGenerator
    proposer: ConceptProposer
    control: ControlSet
    fallback: ConceptProposer
    atlas: Atlas | None = None


def resolve_unit(target: Target, layer: str | None, neuron: int | None) -> tuple[str, int]:
    """Fill in the model's default layer/neuron and check they exist."""
    layer = layer if layer is not None else target.default_layer
    neuron = neuron if neuron is not None else target.default_neuron
    if layer is None or neuron is None:
        raise ConfigError(
            f"model '{target.name}' has no default unit: pass --layer and --neuron "
            f"(see `line layers {target.name}`)"
        )
    check_unit(target, layer, neuron)
    return layer, int(neuron)


def check_numbers(config: ExplainConfig) -> None:
    """Reject counts that cannot work or would run for days (one line each)."""
    for name, (low, high, why) in LIMITS.items():
        value = getattr(config, name)
        flag = "--" + name.replace("_", "-")
        if not isinstance(value, int) or isinstance(value, bool):
            raise ConfigError(f"{flag} must be a whole number, not {value!r}")
        if not low <= value <= high:
            raise ConfigError(f"{flag} must be between {low} and {high} ({why}); got {value}")
    share = config.probe_share
    if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share <= 0.9:
        raise ConfigError(f"--probe-share must be a number from 0 to 0.9, got {share!r}")
    if not str(config.runs_dir).strip():
        raise ConfigError("--runs-dir is empty: pass a folder such as 'runs'")


def build_components(
    config: ExplainConfig,
    *,
    target: Target | None = None,
    generator: ImageGenerator | None = None,
    proposer: ConceptProposer | None = None,
    atlas: Atlas | None = None,
    progress: bool = False,
) -> Components:
    """Resolve every backend a config names; raises ConfigError before any file is written."""
    check_numbers(config)
    target = target or load_target(config.model)
    layer, neuron = resolve_unit(target, config.layer, config.neuron)
    generator = generator or GENERATORS.create(config.generator)
    if not config.atlas:
        atlas = None
    elif atlas is None:
        atlas = open_atlas(target, layer, generator, config.reduction)
    control = load_control(
        config.control,
        target,
        layer,
        generator,
        size=config.control_size,
        reduction=config.reduction,
        progress=progress,
        atlas=atlas,
    )
    proposer = proposer or PROPOSERS.create(config.proposer, generator=generator, seed=config.seed)
    fallback = repeat_fallback(generator, config.seed)
    return Components(target, layer, neuron, generator, proposer, control, fallback, atlas)
