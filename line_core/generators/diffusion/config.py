"""The diffusion generator's configuration, and how "auto" dtype and device are resolved."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from line_core.errors import ConfigError

if TYPE_CHECKING:
    import torch

#: Camera framings of the reference LINE prompt; one is chosen per image from its seed.
FRAMINGS: tuple[str, ...] = ("extreme close-up", "wide angle shot", "aerial view", "low angle shot")
#: Lighting of the reference LINE prompt; one is chosen per image from its seed.
LIGHTINGS: tuple[str, ...] = ("cinematic lighting", "natural sunlight", "studio lighting")

#: dtype names a config accepts (torch attribute names).
DTYPES: tuple[str, ...] = ("float32", "float16", "bfloat16")


@dataclass(frozen=True)
class DiffusionConfig:
    """Everything that decides what a diffusers generator renders; override with ``replace``.

    ``model`` is a Hugging Face hub id or a local folder saved with ``save_pretrained``.
    ``size`` is the square image side in pixels (``None``: the model's native size).
    ``dtype`` is ``"auto"`` (float32 on CPU; ``gpu_dtype`` on a GPU) or a torch dtype name;
    ``gpu_dtype`` ``"auto"`` means bfloat16 for transformer-based pipelines (FLUX, SD3),
    float16 otherwise. ``device`` is ``"auto"`` (cuda when available, else cpu) or a torch
    device string. ``cpu_offload`` keeps idle sub-models in CPU memory (small GPUs).
    The prompt is ``prompt_template`` plus, when ``vary_prompt``, a framing and a lighting
    chosen from the image's seed. ``variant`` names reduced-precision weight files
    (``"fp16"``) to load when the model has them. ``cache_dir`` is the Hugging Face cache
    to read and fill (``None``: the default, ``HF_HUB_CACHE``). ``pipeline_options`` are
    extra ``(name, value)`` arguments for the pipeline call, passed only if it takes them.
    ``label``, ``download`` (a shell command) and ``download_size`` only word the messages a
    user sees.
    """

    model: str
    steps: int = 25
    guidance: float = 5.0
    size: int | None = None
    dtype: str = "auto"
    device: str = "auto"
    batch_size: int = 4
    cpu_offload: bool = False
    prompt_template: str = "A realistic photo of a {concept}"
    framings: tuple[str, ...] = FRAMINGS
    lightings: tuple[str, ...] = LIGHTINGS
    vary_prompt: bool = True
    negative_prompt: str | None = None
    variant: str | None = None
    pipeline_options: tuple[tuple[str, Any], ...] = ()
    cache_dir: str | None = None
    gpu_dtype: str = "auto"
    label: str = ""
    download: str = ""
    download_size: str = ""

    def __post_init__(self) -> None:
        problems = []
        if not self.model:
            problems.append("a model id or folder is needed")
        if self.steps < 1:
            problems.append(f"steps must be at least 1, not {self.steps}")
        if self.guidance < 0:
            problems.append(f"guidance must be >= 0, not {self.guidance}")
        if self.size is not None and (self.size < 8 or self.size % 8):
            problems.append(f"size must be a multiple of 8 (>= 8), not {self.size}")
        if self.batch_size < 1:
            problems.append(f"batch_size must be at least 1, not {self.batch_size}")
        for field, value in (("dtype", self.dtype), ("gpu_dtype", self.gpu_dtype)):
            if value != "auto" and value not in DTYPES:
                choices = ", ".join(["auto", *DTYPES])
                problems.append(f"{field} must be one of {choices}, not '{value}'")
        if "{concept}" not in self.prompt_template:
            problems.append("prompt_template must contain '{concept}'")
        else:
            try:
                self.prompt_template.format(concept="x")
            except (KeyError, IndexError, ValueError):
                problems.append("prompt_template may hold no other '{...}' field than {concept}")
        if problems:
            raise ConfigError(f"diffusion config for '{self.model}': " + "; ".join(problems))

    def replace(self, **changes: Any) -> DiffusionConfig:
        """A copy with some fields changed (same as ``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)


def config_fields() -> set[str]:
    """Names of the fields a factory option may override."""
    return {f.name for f in dataclasses.fields(DiffusionConfig)}


def resolve_device(device: str) -> torch.device:
    """The torch device for a config's ``device`` ("auto": cuda when available, else cpu)."""
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ConfigError(f"unknown device '{device}': use auto, cpu, cuda or cuda:N") from exc
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device '{device}' was asked for but CUDA is not available here")
    return resolved


def resolve_dtype(
    config: DiffusionConfig, device: torch.device, model_index: dict[str, Any] | None = None
) -> torch.dtype:
    """The weight dtype: the config's, or for "auto" float32 on CPU and half precision on GPUs.

    ``model_index`` (the pipeline's ``model_index.json``, when known) lets ``gpu_dtype="auto"``
    pick bfloat16 for transformer-based pipelines such as FLUX.
    """
    import torch

    if config.dtype != "auto":
        return getattr(torch, config.dtype)
    if device.type == "cpu":
        return torch.float32
    name = config.gpu_dtype
    if name == "auto":
        name = "bfloat16" if model_index and "transformer" in model_index else "float16"
    if name == "bfloat16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        name = "float16"
    return getattr(torch, name)
