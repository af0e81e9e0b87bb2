"""Local weight files: `places365:PATH` and `checkpoint:ARCH@PATH`.

Weights are read ONLY as plain tensors: safetensors files, or ``torch.load(weights_only=True)``.
A full pickle (which could run arbitrary code when loaded) is refused with a clear message.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import torch
from torch import nn

from line_core.errors import ConfigError, MissingWeightsError
from line_core.targets.base import TARGETS, Target
from line_core.targets.common import guess_default_layer
from line_core.targets.preprocess import imagenet_preprocess

PLACES365_URL = "http://places2.csail.mit.edu/models_places365/resnet50_places365.pth.tar"
_WRAPPER_KEYS = ("state_dict", "model_state_dict", "model", "net", "weights")
_PREFIXES = ("module.", "model.", "_orig_mod.")


def load_state_dict_file(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a state dict safely from safetensors or a ``weights_only`` torch file.

    Unwraps ``{"state_dict": ...}``-style containers and strips ``module.`` (DataParallel),
    ``model.`` and ``_orig_mod.`` (torch.compile) prefixes.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise MissingWeightsError(f"weights file {path} not found; check the path")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            data: object = load_file(str(path), device="cpu")
        except Exception as exc:  # any parse failure means a bad file
            raise ConfigError(f"{path} is not a readable safetensors file: {exc}") from None
    else:
        try:
            data = torch.load(path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(
                f"refusing to load {path}: it is not a plain state dict, and loading it would run "
                f"pickled code ({first[:120]}); re-save it with "
                "torch.save(model.state_dict(), PATH) or as .safetensors"
            ) from None
        except (RuntimeError, EOFError, OSError) as exc:
            raise ConfigError(f"{path} is not a readable torch weights file: {exc}") from None
    return _state_dict_of(data, path)


def _state_dict_of(data: object, path: Path) -> dict[str, torch.Tensor]:
    if isinstance(data, dict):
        for key in _WRAPPER_KEYS:
            if isinstance(data.get(key), dict):
                data = data[key]
                break
    if not isinstance(data, dict) or not data:
        raise ConfigError(f"{path} holds no state dict (a dict of tensor names to tensors)")
    tensors = {str(k): v for k, v in data.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise ConfigError(f"{path} holds no tensors")
    for prefix in _PREFIXES:
        if all(key.startswith(prefix) for key in tensors):
            tensors = {key[len(prefix) :]: value for key, value in tensors.items()}
    return tensors


def load_into(model: nn.Module, state_dict: dict[str, torch.Tensor], source: str) -> None:
    """``load_state_dict(strict=True)`` with a one-line ConfigError on a mismatch."""
    try:
        model.load_state_dict(state_dict, strict=True)
    except RuntimeError as exc:
        result = _mismatch_summary(model, state_dict)
        raise ConfigError(f"{source} does not fit the architecture: {result or exc}") from None


def _mismatch_summary(model: nn.Module, state_dict: dict[str, torch.Tensor]) -> str:
    own = model.state_dict()
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    shapes = [k for k in own if k in state_dict and own[k].shape != state_dict[k].shape]
    parts = []
    for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", shapes)):
        if keys:
            parts.append(f"{len(keys)} {label} (e.g. {', '.join(keys[:2])})")
    return "; ".join(parts)


def _num_classes(state_dict: dict[str, torch.Tensor], model: nn.Module) -> int | None:
    """Classes of the checkpoint: rows of the weight of the model's last Linear layer."""
    linears = [name for name, module in model.named_modules() if isinstance(module, nn.Linear)]
    if linears and f"{linears[-1]}.weight" in state_dict:
        return int(state_dict[f"{linears[-1]}.weight"].shape[0])
    return None


def _read_categories(path: Path) -> list[str] | None:
    """Places365 class names from ``categories_places365.txt`` next to the checkpoint, if any."""
    file = path.with_name("categories_places365.txt")
    if not file.is_file():
        return None
    names = []
    for line in file.read_text(encoding="utf-8").splitlines():
        if line.strip():
            names.append(line.split()[0].lstrip("/").split("/", 1)[-1].replace("/", " "))
    return names


@TARGETS.register(
    "places365",
    "the CSAIL Places365 ResNet-50 checkpoint, e.g. places365:resnet50_places365.pth.tar",
    takes_argument=True,
)
def places365_target(path: str) -> Target:
    """ResNet-50 with 365 scene classes from the CSAIL checkpoint format.

    The file holds ``{"state_dict": {"module.conv1.weight": ...}}``; it is read with
    ``weights_only=True``. Class names come from ``categories_places365.txt`` beside it, if present.
    """
    import torchvision.models as models

    file = Path(path).expanduser()
    if not file.is_file():
        raise MissingWeightsError(
            f"Places365 checkpoint {file} not found; download {PLACES365_URL}"
        )
    model = models.resnet50(weights=None, num_classes=365)
    load_into(model, load_state_dict_file(file), str(file))
    return Target(
        name=f"places365:{path}",
        model=model.eval(),
        preprocess=imagenet_preprocess(),
        description="ResNet-50 trained on Places365 (CSAIL checkpoint)",
        default_layer="avgpool",
        class_names=_read_categories(file),
    )


def _build_arch(arch: str, num_classes: int | None) -> nn.Module:
    kwargs = {} if num_classes is None else {"num_classes": num_classes}
    if arch.startswith("timm/"):
        import timm

        name = arch[len("timm/") :]
        if not timm.is_model(name):
            raise ConfigError(f"'{name}' is not a timm model")
        return timm.create_model(name, pretrained=False, **kwargs)
    import torchvision.models as models

    if arch not in models.list_models(module=models):
        raise ConfigError(
            f"unknown architecture '{arch}': use a torchvision model name (e.g. resnet50) "
            "or timm/NAME"
        )
    return models.get_model(arch, weights=None, **kwargs)


@TARGETS.register(
    "checkpoint",
    "own weights for a known architecture: checkpoint:resnet50@PATH or checkpoint:timm/NAME@PATH",
    takes_argument=True,
)
def checkpoint_target(argument: str) -> Target:
    """``ARCH@PATH``: a torchvision (or ``timm/NAME``) architecture with a local state dict.

    The file is a .safetensors file or a torch file readable with ``weights_only=True``;
    the class count is taken from the checkpoint's classifier weight.
    """
    arch, sep, path = argument.partition("@")
    if not sep or not arch or not path:
        raise ConfigError(f"checkpoint spec '{argument}' must be ARCH@PATH, e.g. resnet50@model.pt")
    state_dict = load_state_dict_file(path)
    model = _build_arch(arch, None)
    classes = _num_classes(state_dict, model)
    if classes is not None and classes != _num_classes(model.state_dict(), model):
        model = _build_arch(arch, classes)
    load_into(model, state_dict, path)
    return Target(
        name=f"checkpoint:{argument}",
        model=model.eval(),
        preprocess=imagenet_preprocess(),
        description=f"{arch} with weights from {path}",
        default_layer=guess_default_layer(model),
    )
