"""Named diffusion presets and the ``diffusers:MODEL`` family, registered as generators."""

from __future__ import annotations

import functools
from typing import Any

from line_core.errors import ConfigError
from line_core.generators.base import GENERATORS
from line_core.generators.diffusion.config import DiffusionConfig, config_fields
from line_core.generators.diffusion.generator import DiffusionGenerator

_FP16_FILES = '--include "*.json" --include "*.txt" --include "*.fp16.safetensors"'

#: Presets by generator name; each is a DiffusionConfig to ``replace`` fields of.
PRESETS: dict[str, DiffusionConfig] = {
    "sd-turbo": DiffusionConfig(
        model="stabilityai/sd-turbo",
        steps=1,
        guidance=0.0,
        size=512,
        variant="fp16",
        gpu_dtype="float16",
        label="SD-Turbo",
        download=f"hf download stabilityai/sd-turbo {_FP16_FILES}",
        download_size="about 3 GB",
    ),
    "sdxl-turbo": DiffusionConfig(
        model="stabilityai/sdxl-turbo",
        steps=1,
        guidance=0.0,
        size=512,
        variant="fp16",
        gpu_dtype="float16",
        label="SDXL-Turbo",
        download=f"hf download stabilityai/sdxl-turbo {_FP16_FILES}",
        download_size="about 7 GB",
    ),
    "sdxl-base": DiffusionConfig(
        model="stabilityai/stable-diffusion-xl-base-1.0",
        steps=25,
        guidance=5.0,
        size=1024,
        variant="fp16",
        gpu_dtype="float16",
        label="SDXL base 1.0",
        download=f"hf download stabilityai/stable-diffusion-xl-base-1.0 {_FP16_FILES}",
        download_size="about 7 GB",
    ),
    "flux-schnell": DiffusionConfig(
        model="black-forest-labs/FLUX.1-schnell",
        steps=4,
        guidance=0.0,
        size=1024,
        gpu_dtype="bfloat16",
        pipeline_options=(("max_sequence_length", 256),),
        label="FLUX.1-schnell",
        download=(
            'hf download black-forest-labs/FLUX.1-schnell --exclude "flux1-schnell.safetensors"'
        ),
        download_size="about 34 GB",
    ),
}

_DESCRIPTIONS = {
    "sd-turbo": "SD-Turbo: 1 step, guidance 0, 512x512; fastest (needs a GPU and its weights)",
    "sdxl-turbo": "SDXL-Turbo: 1-4 steps, guidance 0, 512x512 (needs a GPU and its weights)",
    "sdxl-base": "SDXL base 1.0, the CoSy reference generator: 25 steps, guidance 5, 1024x1024",
    "flux-schnell": "FLUX.1-schnell: 4 steps, guidance 0, 1024x1024, bfloat16 (large GPU)",
}


def apply_options(config: DiffusionConfig, options: dict[str, Any]) -> DiffusionConfig:
    """The config with known options applied; ``None`` values and unknown names are ignored.

    ``config=`` replaces the whole config; ``framings``/``lightings`` may be lists and
    ``pipeline_options`` a dict.
    """
    base = options.get("config")
    if base is not None:
        if not isinstance(base, DiffusionConfig):
            raise ConfigError("config= must be a DiffusionConfig")
        config = base
    fields = config_fields() - {"model"}
    changes = {k: v for k, v in options.items() if k in fields and v is not None}
    for key in ("framings", "lightings"):
        if key in changes:
            changes[key] = tuple(changes[key])
    if isinstance(changes.get("pipeline_options"), dict):
        changes["pipeline_options"] = tuple(changes["pipeline_options"].items())
    return config.replace(**changes) if changes else config


def make_generator(name: str, config: DiffusionConfig, **options: Any) -> DiffusionGenerator:
    """A DiffusionGenerator for a config with options applied, checked for its weights.

    The check is cheap (no weights are read); pass ``check=False`` to skip it.
    """
    generator = DiffusionGenerator(apply_options(config, options), name=name)
    if options.get("check", True):
        generator.check_available()
    return generator


def preset(name: str) -> DiffusionConfig:
    """The preset config registered under ``name``; ConfigError if there is none."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(
            f"no diffusion preset '{name}'; choose one of: {', '.join(PRESETS)}"
        ) from None


def _preset_factory(name: str, **options: Any) -> DiffusionGenerator:
    return make_generator(name, PRESETS[name], **options)


for _name in PRESETS:
    GENERATORS.register(_name, _DESCRIPTIONS[_name])(functools.partial(_preset_factory, _name))


@GENERATORS.register(
    "diffusers",
    "any diffusers text-to-image pipeline: a Hugging Face id or a local folder",
    takes_argument=True,
)
def diffusers_family(argument: str, **options: Any) -> DiffusionGenerator:
    """``diffusers:MODEL_ID_OR_PATH``: reference defaults (25 steps, guidance 5, native size)."""
    return make_generator(f"diffusers:{argument}", DiffusionConfig(model=argument), **options)
