"""Your own model: `package.module:callable` or `path/to/file.py:callable`.

The callable (called with the load options as keyword arguments) returns an ``nn.Module``, a
``(module, preprocess)`` tuple, or a ready :class:`Target`. A bare module gets the usual ImageNet
preprocessing (resize 256, centre-crop 224, ImageNet mean / std).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from torch import nn

from line_core.errors import ConfigError
from line_core.targets.base import Target
from line_core.targets.common import guess_default_layer
from line_core.targets.preprocess import imagenet_preprocess


def _looks_like_file(location: str) -> bool:
    return location.endswith(".py") or "/" in location or "\\" in location


def _import_file(location: str) -> ModuleType:
    path = Path(location).expanduser()
    if not path.is_file():
        raise ConfigError(f"model file '{location}' not found")
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]
    name = f"line_user_model_{digest}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"cannot import '{location}': not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:  # any failure of user code is reported in one line
        sys.modules.pop(name, None)
        raise ConfigError(f"importing '{location}' failed: {type(exc).__name__}: {exc}") from None
    return module


def _import_module(location: str) -> ModuleType:
    try:
        return importlib.import_module(location)
    except ModuleNotFoundError as exc:
        raise ConfigError(
            f"cannot import module '{location}' ({exc}); install it or add it to PYTHONPATH"
        ) from None
    except (Exception, SystemExit) as exc:  # user code: report it in one line
        raise ConfigError(f"importing '{location}' failed: {type(exc).__name__}: {exc}") from None


def _attribute(module: ModuleType, dotted: str, location: str) -> object:
    value: object = module
    for part in dotted.split("."):
        if not hasattr(value, part):
            raise ConfigError(f"'{location}' has no attribute '{dotted}'")
        value = getattr(value, part)
    return value


def load_custom(spec: str, **options: object) -> Target:
    """Build a Target from ``module:callable`` or ``file.py:callable``; ConfigError if it fails."""
    location, sep, attribute = spec.rpartition(":")
    if not sep or not location or not attribute:
        raise ConfigError(
            f"model spec '{spec}' must be module:callable or path/to/file.py:callable"
        )
    module = _import_file(location) if _looks_like_file(location) else _import_module(location)
    factory = _attribute(module, attribute, location)
    if not callable(factory):
        raise ConfigError(f"'{spec}' is not callable (it is a {type(factory).__name__})")
    try:
        result = factory(**options)
    except (Exception, SystemExit) as exc:  # user code: report it in one line
        raise ConfigError(f"'{spec}' raised {type(exc).__name__}: {exc}") from None
    return _as_target(result, spec)


def _as_target(result: object, spec: str) -> Target:
    if isinstance(result, Target):
        return result
    preprocess = imagenet_preprocess()
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], nn.Module):
        if not callable(result[1]):
            raise ConfigError(
                f"'{spec}' returned (module, {type(result[1]).__name__}): "
                "the preprocess must be callable"
            )
        result, preprocess = result
    if not isinstance(result, nn.Module):
        raise ConfigError(
            f"'{spec}' returned {type(result).__name__}; expected an nn.Module, "
            "a (module, preprocess) tuple or a Target"
        )
    return Target(
        name=spec,
        model=result.eval(),
        preprocess=preprocess,
        description=f"your model from {spec}",
        default_layer=guess_default_layer(result),
    )
