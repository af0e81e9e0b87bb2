"""`hf:ID_OR_PATH`: a Hugging Face image classifier (AutoModelForImageClassification)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image
from torch import nn

from line_core.errors import ConfigError, MissingWeightsError
from line_core.targets.base import TARGETS, Target
from line_core.targets.common import guess_default_layer, is_offline
from line_core.targets.preprocess import to_rgb

#: Model types whose token outputs have no CLS token (read out as the token mean by default).
_NO_CLS_TOKEN = {"swin", "swinv2", "levit", "pvt", "pvt_v2", "focalnet"}


class HFClassifier(nn.Module):
    """Wrap a transformers classifier so that ``forward(pixel_values)`` returns the logits."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """Logits [N, classes]."""
        return self.model(pixel_values=pixel_values).logits


@dataclass(frozen=True)
class HFPreprocess:
    """PIL images -> ``pixel_values`` with the model's own image processor."""

    processor: object

    def __call__(self, images: Sequence[Image.Image]) -> torch.Tensor:
        """Process RGB images into one float batch."""
        rgb = [to_rgb(image) for image in images]
        return self.processor(images=rgb, return_tensors="pt")["pixel_values"]


_SIZE_FORMS = "{height, width}, {shortest_edge}, {longest_edge} or an int"


def _size_fields(size: object) -> dict[str, int] | int | None:
    """A processor ``size`` / ``crop_size`` as a dict without None values, an int, or None."""
    if size is None or isinstance(size, bool):
        return None
    if isinstance(size, int):
        return size
    if isinstance(size, (tuple, list)) and len(size) == 2:
        return {"height": size[0], "width": size[1]}
    items = getattr(size, "items", None)
    pairs = items() if callable(items) else size  # a SizeDict (transformers 5) yields pairs
    try:
        return {str(key): int(value) for key, value in pairs if value is not None}
    except (TypeError, ValueError):
        return None


def _side(fields: dict[str, int]) -> int | None:
    """The side of the square input one ``size`` dict makes, or None for an unknown form."""
    height, width = fields.get("height"), fields.get("width")
    if height and width:
        return max(int(height), int(width))
    shortest, longest = fields.get("shortest_edge"), fields.get("longest_edge")
    if shortest and longest:  # a square image is capped by longest_edge
        return min(int(shortest), int(longest))
    edge = shortest or longest
    return int(edge) if edge else None


def processor_input_size(processor: object, name: str = "hf model") -> int:
    """The side length of the images ``processor`` feeds the model (ConfigError if unknown).

    A centre crop wins when the processor applies one (``crop_size`` with ``do_center_crop``).
    Otherwise ``size`` decides: ``{height, width}`` (the larger side when not square),
    ``{shortest_edge}`` (resize the shortest edge, to ``shortest_edge / crop_pct`` first when
    the processor has a ``crop_pct``, then crop to ``shortest_edge``), ``{longest_edge}``, or
    an int.
    """
    if getattr(processor, "do_center_crop", True):
        crop = _size_fields(getattr(processor, "crop_size", None))
        if isinstance(crop, int) and crop > 0:
            return crop
        if isinstance(crop, dict) and crop and (side := _side(crop)):
            return side
    raw = getattr(processor, "size", None)
    size = _size_fields(raw)
    if isinstance(size, int) and size > 0:
        return size
    side = _side(size) if isinstance(size, dict) else None
    if not side or side <= 0:
        raise ConfigError(
            f"{name}: cannot tell the input size from its image processor "
            f"({type(processor).__name__}, size={size if size is not None else raw!r}); "
            f"LINE understands {_SIZE_FORMS}"
        )
    return side


def _class_names(model: nn.Module) -> list[str] | None:
    labels = getattr(model.config, "id2label", None) or {}
    names = [str(labels[i]) for i in sorted(labels)]
    if not names or all(re.fullmatch(r"LABEL_\d+", name) for name in names):
        return None
    return names


@TARGETS.register(
    "hf",
    "a Hugging Face image classifier, e.g. hf:google/vit-base-patch16-224 or a local folder",
    takes_argument=True,
)
def hf_target(id_or_path: str) -> Target:
    """Load ``id_or_path`` with AutoModelForImageClassification + AutoImageProcessor.

    Local folders and offline mode (HF_HUB_OFFLINE / LINE_OFFLINE) use ``local_files_only``.
    ViT token layers output [N, T, D] with CLS first (read out via CLS by default).
    """
    from transformers import AutoImageProcessor, AutoModelForImageClassification

    local = Path(id_or_path).expanduser()
    if local.exists() and not local.is_dir():
        raise ConfigError(f"hf:{id_or_path} is a file; give the model folder (with config.json)")
    source = str(local) if local.is_dir() else id_or_path
    local_only = is_offline() or local.is_dir()
    try:
        model = AutoModelForImageClassification.from_pretrained(source, local_files_only=local_only)
        processor = AutoImageProcessor.from_pretrained(source, local_files_only=local_only)
    except OSError as exc:
        where = "the folder" if local.is_dir() else "the local Hugging Face cache"
        raise MissingWeightsError(
            f"hf:{id_or_path} could not be loaded from {where} ({type(exc).__name__}); "
            f"download it with `hf download {id_or_path}` (or `hf download {id_or_path} "
            "--local-dir FOLDER`, then hf:FOLDER) or pass a local folder"
        ) from None
    except ValueError as exc:
        raise ConfigError(f"hf:{id_or_path} is not an image classifier: {exc}") from None
    wrapped = HFClassifier(model.eval()).eval()
    has_cls = getattr(model.config, "model_type", "") not in _NO_CLS_TOKEN
    return Target(
        name=f"hf:{id_or_path}",
        model=wrapped,
        preprocess=HFPreprocess(processor),
        description=f"Hugging Face {type(model).__name__} ({id_or_path})",
        default_layer=guess_default_layer(wrapped),
        class_names=_class_names(model),
        input_size=processor_input_size(processor, f"hf:{id_or_path}"),
        token_layout="cls" if has_cls else "mean",
    )
