"""DiffusionGenerator: a diffusers text-to-image pipeline behind the ImageGenerator protocol."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

from PIL import Image

from line_core.errors import BackendError
from line_core.generators.diffusion.config import DiffusionConfig
from line_core.generators.diffusion.loading import check_available, load_pipeline
from line_core.generators.diffusion.prompts import (
    CONTROL_PROMPTS,
    SEED_CONCEPTS,
    build_prompt,
    describe_model,
)
from line_core.generators.diffusion.safety import FLAG_KEY, needs_retry, retry_seed


class DiffusionGenerator:
    """Renders concepts with a diffusers pipeline; image i depends only on (prompt_i, seed_i).

    Each image gets its own ``torch.Generator`` (on the CPU, so results do not depend on the
    device's random number generator), which makes an image identical whether it is rendered
    alone or in a batch. An image that comes back blacked out (all black, one flat colour, or
    flagged by the pipeline's safety checker) is rendered once more from ``retry_seed(seed)``
    with the same prompt. If that is blank too, it is still returned, but its index is listed
    in ``last_flagged`` and ``image.info["line_blacked_out"]`` is True: callers must drop
    flagged images rather than score them. ``last_retried`` maps the index of every re-rendered
    image to the seed its pixels came from. Both describe the latest ``generate`` call.
    """

    kind = "diffusion"

    def __init__(
        self, config: DiffusionConfig, name: str | None = None, pipeline: Any = None
    ) -> None:
        self.config = config
        self.name = name or f"diffusers:{config.model}"
        #: The diffusers pipeline; loaded on first use (or by ``load``).
        self.pipeline = pipeline
        self.last_flagged: list[int] = []
        self.last_retried: dict[int, int] = {}

    def check_available(self) -> None:
        """Raise MissingWeightsError / ConfigError now if the weights cannot be loaded later."""
        if self.pipeline is None:
            check_available(self.config)

    def load(self) -> Any:
        """Load the pipeline if it is not loaded yet, and return it."""
        if self.pipeline is None:
            self.pipeline = load_pipeline(self.config)
        return self.pipeline

    def unload(self) -> None:
        """Drop the pipeline and free its GPU memory (it reloads on the next ``generate``)."""
        import torch

        self.pipeline = None
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    def prompt_for(self, concept: str, seed: int) -> str:
        """The exact prompt for this concept and seed."""
        return build_prompt(self.config, concept, seed)

    def generate(self, concept: str, seeds: Sequence[int]) -> list[Image.Image]:
        """One RGB image per seed; blacked-out images are retried once, then flagged."""
        seeds = [int(seed) for seed in seeds]
        prompts = [self.prompt_for(concept, seed) for seed in seeds]
        images, nsfw = self._render_batched(prompts, seeds)
        bad = [i for i, image in enumerate(images) if needs_retry(image, nsfw[i])]
        retried = {i: retry_seed(seeds[i]) for i in bad}
        flagged: list[int] = []
        if bad:
            again, again_nsfw = self._render_batched(
                [prompts[i] for i in bad], [retried[i] for i in bad]
            )
            for i, image, flag in zip(bad, again, again_nsfw, strict=True):
                images[i] = image
                if needs_retry(image, flag):
                    image.info[FLAG_KEY] = True
                    flagged.append(i)
        self.last_retried = retried
        self.last_flagged = flagged
        return images

    def describe(self) -> str:
        """What this model draws (for the proposer prompt)."""
        label = f"{self.config.label}, {self.config.model}" if self.config.label else self.name
        return describe_model(label)

    def unrendered_words(self, concept: str) -> list[str]:
        """Nothing: a diffusion model reads every word of the prompt."""
        return []

    def draws(self, concept: str) -> bool:
        """Any non-empty concept: a diffusion model draws from every word."""
        return bool(concept.strip())

    def vocabulary(self) -> list[str]:
        """Empty: a diffusion model has no fixed vocabulary."""
        return []

    def seed_concepts(self) -> list[str]:
        """About 30 diverse everyday concepts for an initial pool."""
        return list(SEED_CONCEPTS)

    def control_prompts(self) -> list[str]:
        """About 60 neutral everyday scenes and objects for a generator-matched control."""
        return list(CONTROL_PROMPTS)

    def _render_batched(
        self, prompts: list[str], seeds: list[int]
    ) -> tuple[list[Image.Image], list[bool | None]]:
        """Render in chunks of ``batch_size``; returns images and per-image nsfw flags."""
        images: list[Image.Image] = []
        nsfw: list[bool | None] = []
        step = self.config.batch_size
        for start in range(0, len(prompts), step):
            chunk_images, chunk_nsfw = self._render(
                prompts[start : start + step], seeds[start : start + step]
            )
            images.extend(chunk_images)
            nsfw.extend(chunk_nsfw)
        return images, nsfw

    def _render(
        self, prompts: list[str], seeds: list[int]
    ) -> tuple[list[Image.Image], list[bool | None]]:
        """One pipeline call: one CPU generator per image, seeded by that image's seed."""
        import torch

        pipeline = self.load()
        config = self.config
        options: dict[str, Any] = {
            "prompt": prompts,
            "num_inference_steps": config.steps,
            "guidance_scale": config.guidance,
            "generator": [torch.Generator("cpu").manual_seed(s % 2**64) for s in seeds],
            "output_type": "pil",
        }
        if config.size is not None:
            options["height"] = options["width"] = config.size
        if config.negative_prompt:
            options["negative_prompt"] = [config.negative_prompt] * len(prompts)
        options.update(config.pipeline_options)
        try:
            output = pipeline(**_accepted_options(pipeline, options))
        except torch.cuda.OutOfMemoryError as exc:
            raise BackendError(
                f"{self.name} ran out of GPU memory with batch_size={config.batch_size}: "
                "lower batch_size or size, or set cpu_offload=True"
            ) from exc
        images = [image.convert("RGB") for image in output.images]
        if len(images) != len(prompts):
            raise BackendError(f"{self.name} returned {len(images)} images for {len(prompts)}")
        flags = getattr(output, "nsfw_content_detected", None) or [None] * len(images)
        return images, list(flags)


def _accepted_options(pipeline: Any, options: dict[str, Any]) -> dict[str, Any]:
    """The options this pipeline's ``__call__`` takes (FLUX has no negative prompt, say)."""
    try:
        parameters = inspect.signature(pipeline.__call__).parameters
    except (TypeError, ValueError):
        return options
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return options
    return {key: value for key, value in options.items() if key in parameters}
