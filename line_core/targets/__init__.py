"""Vision models to explain: load a target by spec, list its layers, check a unit.

Specs: a registered name (``efficientnet_lite0``, ``planted``), a family
(``torchvision:NAME``, ``timm:NAME``, ``hf:ID_OR_PATH``, ``places365:PATH``,
``checkpoint:ARCH@PATH``), or your own model (``module:callable``, ``path/to/file.py:callable``).
"""

from __future__ import annotations

import torch

from line_core.errors import ConfigError
from line_core.targets import (  # noqa: F401 - imported so that the families register
    checkpoints,
    efficientnet,
    hf,
    planted,
    planted_family,
    timm_family,
    torchvision_family,
)
from line_core.targets.base import TARGETS, Target
from line_core.targets.custom import load_custom

_CUSTOM = {
    "module:callable": "your model: a function returning a module, (module, preprocess) or Target",
    "path/to/file.py:callable": "the same, from a Python file",
}
#: How a family's argument is written in listings, and the order families are listed in.
_ARGUMENTS = {
    "torchvision": "NAME",
    "timm": "NAME",
    "hf": "ID_OR_PATH",
    "places365": "PATH",
    "checkpoint": "ARCH@PATH",
    "planted-family": "SEED[:N]",
}

__all__ = [
    "TARGETS",
    "Target",
    "describe_models",
    "load_target",
    "model_names",
]


def describe_models() -> dict[str, str]:
    """Spec as a user types it -> one-line description, for `line models`.

    Ready models first, then families (``family:ARGUMENT``), then the custom forms.
    """
    entries = TARGETS.entries()
    order = list(_ARGUMENTS)
    ready = [e for e in entries if not e.takes_argument]
    families = sorted(
        (e for e in entries if e.takes_argument),
        key=lambda e: order.index(e.name) if e.name in order else len(order),
    )
    described = {e.name: e.description for e in ready}
    described |= {f"{e.name}:{_ARGUMENTS.get(e.name, 'NAME')}": e.description for e in families}
    return described | _CUSTOM


def model_names() -> list[str]:
    """Model specs as a user types them, in the order of :func:`describe_models`."""
    return list(describe_models())


def _check_device(device: str) -> torch.device:
    try:
        chosen = torch.device(device)
    except (RuntimeError, TypeError):
        raise ConfigError(f"unknown device '{device}'; use cpu, cuda or cuda:N") from None
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device '{device}' is not available here (no CUDA); use cpu")
    if chosen.type == "cuda" and chosen.index is not None:
        if chosen.index >= torch.cuda.device_count():
            raise ConfigError(
                f"device '{device}' does not exist: {torch.cuda.device_count()} GPU(s)"
            )
    if chosen.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"device '{device}' is not available here; use cpu")
    return chosen


def load_target(spec: str, device: str = "cpu", **options: object) -> Target:
    """Load the vision model a spec names, in eval mode on ``device``.

    Resolution: registered exact names first, then registered families (``family:ARG``), then
    anything with ":" as your own model. ``options`` go to the factory (e.g. ``weights=None`` for
    torchvision, ``pretrained=False`` for timm). Unknown specs raise ConfigError; weights that
    are not on this machine raise MissingWeightsError naming what to download.
    """
    spec = (spec or "").strip()
    if not spec:
        raise ConfigError(f"no model given; choose one of: {', '.join(model_names())}")
    chosen = _check_device(device)
    family = spec.partition(":")[0]
    known = {entry.name: entry for entry in TARGETS.entries()}
    if spec in known or (family in known and known[family].takes_argument):
        target = TARGETS.create(spec, **options)
    elif ":" in spec:
        target = load_custom(spec, **options)
    else:
        TARGETS.split(spec)  # raises the registry's "unknown model" message
        raise ConfigError(f"unknown model '{spec}'")
    target.model.to(chosen).eval()
    target.extra["device"] = str(chosen)
    return target
