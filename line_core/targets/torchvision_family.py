"""`torchvision:NAME`: any torchvision classification model with its default weights."""

from __future__ import annotations

import difflib
import os
from typing import Any

import torch

from line_core.errors import ConfigError, MissingWeightsError
from line_core.targets.base import TARGETS, Target
from line_core.targets.common import guess_default_layer, is_offline
from line_core.targets.preprocess import PerImageTransform, imagenet_preprocess

_DEFAULT = "DEFAULT"


def torchvision_cache_path(url: str) -> str:
    """Where torch hub keeps (and looks for) a downloaded weights file."""
    return os.path.join(torch.hub.get_dir(), "checkpoints", os.path.basename(url))


def _classification_names() -> list[str]:
    import torchvision.models as models

    return models.list_models(module=models)


def _resolve_weights(name: str, weights: object) -> Any:  # a torchvision WeightsEnum member
    import torchvision.models as models

    if weights is None:
        return None
    enum = models.get_model_weights(name)
    if not isinstance(weights, str):
        return weights
    if weights.upper() == _DEFAULT:
        return enum.DEFAULT
    try:
        return enum[weights]
    except KeyError:
        choices = ", ".join(["DEFAULT", *(w.name for w in enum)])
        raise ConfigError(
            f"unknown weights '{weights}' for {name}; choose one of: {choices}"
        ) from None


@TARGETS.register(
    "torchvision",
    "any torchvision classification model, e.g. torchvision:resnet50 (default weights)",
    takes_argument=True,
)
def torchvision_target(name: str, weights: object = _DEFAULT) -> Target:
    """Torchvision model ``name`` with ``weights`` ("DEFAULT", an enum name, or None for random).

    Preprocessing is the weights enum's own transforms (the default enum's when ``weights=None``).
    Offline with no cached file, MissingWeightsError names the URL and the torch hub cache path.
    """
    import torchvision.models as models

    names = _classification_names()
    if name not in names:
        close = difflib.get_close_matches(name, names, n=4)
        hint = f"did you mean {', '.join(close)}?" if close else "e.g. resnet50, vit_b_16"
        raise ConfigError(f"'{name}' is not a torchvision classification model; {hint}")
    chosen = _resolve_weights(name, weights)
    if chosen is not None:
        path = torchvision_cache_path(chosen.url)
        if is_offline() and not os.path.exists(path):
            raise _missing(name, chosen.url, path)
    try:
        model = models.get_model(name, weights=chosen)
    except OSError as exc:  # URLError (no network) is an OSError
        raise _missing(name, chosen.url, torchvision_cache_path(chosen.url), exc) from None
    reference = chosen or models.get_model_weights(name).DEFAULT
    preprocess = PerImageTransform(reference.transforms()) if reference else imagenet_preprocess()
    categories = reference.meta.get("categories") if reference else None
    crop = getattr(reference.transforms(), "crop_size", [224]) if reference else [224]
    label = reference.name if chosen is not None else "random init"
    return Target(
        name=f"torchvision:{name}",
        model=model.eval(),
        preprocess=preprocess,
        description=f"torchvision {name} ({label})",
        default_layer=guess_default_layer(model),
        class_names=list(categories) if categories else None,
        input_size=int(crop[0]),
        extra={"weights": None if chosen is None else str(chosen)},
    )


def _missing(name: str, url: str, path: str, exc: Exception | None = None) -> MissingWeightsError:
    why = f" ({type(exc).__name__})" if exc else ""
    return MissingWeightsError(
        f"weights for torchvision:{name} are not on this machine{why}: download {url} "
        f"and put it at {path} (torch hub cache; TORCH_HOME moves it)"
    )
