"""Finding and loading a diffusers pipeline: hub id or local folder, online or offline.

Offline (``HF_HUB_OFFLINE=1``, or the hub does not answer) the pipeline loads with
``local_files_only=True``; a model missing from the local cache is a MissingWeightsError whose
one line says what to download. No call here downloads anything while offline.
"""

from __future__ import annotations

import functools
import json
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from line_core import hub
from line_core.errors import BackendError, ConfigError, LineError, MissingWeightsError
from line_core.generators.diffusion.config import DiffusionConfig, resolve_device, resolve_dtype

if TYPE_CHECKING:
    import torch

def local_folder(model: str) -> Path | None:
    """The folder ``model`` names, or None for a hub id; ConfigError for a missing folder."""
    path = Path(model).expanduser()
    if path.is_dir():
        return path
    looks_like_path = model.startswith(("/", ".", "~")) or model.count("/") > 1 or "\\" in model
    if looks_like_path or path.exists():
        raise ConfigError(f"'{model}' is not a folder with a diffusers pipeline (model_index.json)")
    return None


def missing_message(config: DiffusionConfig) -> str:
    """One line naming the model that is not on this machine and how to get it."""
    what = f"{config.label} weights" if config.label else "diffusers weights"
    how = config.download or f"hf download {config.model}"
    size = f" ({config.download_size})" if config.download_size else ""
    return (
        f"{what} '{config.model}' are not on this machine: run `{how}`{size} "
        "or pass a local folder as diffusers:PATH"
    )


def read_model_index(config: DiffusionConfig) -> dict[str, Any] | None:
    """The pipeline's ``model_index.json`` from its folder or the local hub cache, if there."""
    folder = local_folder(config.model)
    if folder is not None:
        index = folder / "model_index.json"
        if not index.is_file():
            raise ConfigError(f"'{config.model}' has no model_index.json: not a diffusers pipeline")
        return _read_json(index, config)
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(config.model, "model_index.json", cache_dir=config.cache_dir)
    if isinstance(cached, str):
        return _read_json(Path(cached), config)
    return None


def _read_json(path: Path, config: DiffusionConfig) -> dict[str, Any]:
    """A JSON object from a file; ConfigError when it is not one."""
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"'{config.model}': cannot read {path.name} ({exc})") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"'{config.model}': {path.name} is not a JSON object")
    return data


def check_available(config: DiffusionConfig) -> None:
    """Fail fast, without loading weights: ConfigError or MissingWeightsError, else return."""
    index = read_model_index(config)
    if index is None and hub.is_offline():
        raise MissingWeightsError(missing_message(config))


def load_pipeline(config: DiffusionConfig) -> Any:
    """Load the pipeline, put it on its device and return it (errors are one-line LineErrors)."""
    device = resolve_device(config.device)
    index = read_model_index(config)
    local = local_folder(config.model) is not None or hub.is_offline()
    if index is None and local:
        raise MissingWeightsError(missing_message(config))
    if index is None:
        index = _download_model_index(config)
    dtype = resolve_dtype(config, device, index)
    try:
        pipeline = _from_pretrained(config, dtype, local_files_only=local)
    except LineError:
        raise
    except Exception as exc:
        if local or not _is_connection_error(exc):
            raise translate_error(exc, config) from exc
        try:  # the hub stopped answering: what the cache holds may still do
            pipeline = _from_pretrained(config, dtype, local_files_only=True)
        except Exception as again:
            raise translate_error(again, config) from again
    if hasattr(pipeline, "set_progress_bar_config"):
        pipeline.set_progress_bar_config(disable=True)
    return place(pipeline, config, device)


def place(pipeline: Any, config: DiffusionConfig, device: torch.device) -> Any:
    """Move the pipeline to its device, or offload it to the CPU between uses when asked."""
    import torch

    try:
        if config.cpu_offload and device.type == "cuda":
            pipeline.enable_model_cpu_offload(device=device)
        else:
            pipeline.to(device)
    except torch.cuda.OutOfMemoryError as exc:
        raise BackendError(
            f"'{config.model}' does not fit in the memory of {device}: set cpu_offload=True, "
            "or pick a smaller model (sd-turbo)"
        ) from exc
    return pipeline


def _download_model_index(config: DiffusionConfig) -> dict[str, Any] | None:
    """Fetch ``model_index.json`` from the hub (small; fails fast on a wrong or gated id)."""
    from huggingface_hub import hf_hub_download

    try:
        path = hf_hub_download(config.model, "model_index.json", cache_dir=config.cache_dir)
        return json.loads(Path(path).read_text())
    except Exception as exc:
        if _is_connection_error(exc):
            return None  # let from_pretrained retry and fall back to the cache
        raise translate_error(exc, config) from exc


def _from_pretrained(config: DiffusionConfig, dtype: torch.dtype, local_files_only: bool) -> Any:
    """``from_pretrained`` through AutoPipelineForText2Image, else DiffusionPipeline."""
    from diffusers import AutoPipelineForText2Image, DiffusionPipeline

    source = str(local_folder(config.model) or config.model)
    kwargs: dict[str, Any] = {_dtype_keyword(): dtype, "local_files_only": local_files_only}
    if config.cache_dir:
        kwargs["cache_dir"] = config.cache_dir
    variants = [config.variant, None] if config.variant else [None]
    for variant in variants:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                warnings.filterwarnings("ignore", message=".*local_dir_use_symlinks")
                try:
                    return AutoPipelineForText2Image.from_pretrained(
                        source, variant=variant, **kwargs
                    )
                except ValueError as exc:
                    if "variant=" in str(exc) or "AutoPipeline" not in str(exc):
                        raise
                    return DiffusionPipeline.from_pretrained(source, variant=variant, **kwargs)
        except ValueError as exc:
            if variant is None or "variant=" not in str(exc):
                raise
    raise AssertionError("unreachable")  # pragma: no cover


@functools.lru_cache(maxsize=1)
def _dtype_keyword() -> str:
    """``dtype`` on diffusers that renamed ``torch_dtype`` to it, else ``torch_dtype``."""
    from diffusers.utils import deprecation_utils

    return "dtype" if hasattr(deprecation_utils, "_resolve_dtype") else "torch_dtype"


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and its causes, outermost first."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


#: Exception class names (anywhere in the MRO) that mean "the network failed": builtins,
#: requests, httpx and httpx2 (which huggingface_hub uses, depending on its version).
_NETWORK_ERRORS = {
    "ConnectionError",
    "TimeoutError",
    "Timeout",
    "TimeoutException",
    "TransportError",
    "NetworkError",
    "ConnectError",
}


def _is_connection_error(exc: BaseException) -> bool:
    """True when the failure was the network, not the model."""
    return any(
        cls.__name__ in _NETWORK_ERRORS for error in _chain(exc) for cls in type(error).__mro__
    )


def translate_error(exc: BaseException, config: DiffusionConfig) -> LineError:
    """A one-line LineError for a failed ``from_pretrained``."""
    from huggingface_hub.errors import (
        EntryNotFoundError,
        GatedRepoError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
    )

    chain = _chain(exc)
    if any(isinstance(e, GatedRepoError) for e in chain):
        return MissingWeightsError(
            f"'{config.model}' is gated on the Hugging Face hub: accept its licence at "
            f"https://huggingface.co/{config.model}, run `hf auth login`, then retry"
        )
    if any(isinstance(e, RepositoryNotFoundError) for e in chain):
        return ConfigError(
            f"no model '{config.model}' on the Hugging Face hub and no such local folder: "
            "check the id, or pass a local folder as diffusers:PATH"
        )
    text = " ".join(str(exc).split())
    remote_missing = [
        e
        for e in chain
        if isinstance(e, EntryNotFoundError) and not isinstance(e, LocalEntryNotFoundError)
    ]
    if remote_missing and "model_index.json" in text:
        return ConfigError(f"'{config.model}' on the hub is not a diffusers pipeline")
    missing = ("does not appear to have", "local_files_only", "offline", "cannot find", "no file")
    if any(isinstance(e, LocalEntryNotFoundError) for e in chain) or any(
        word in text.lower() for word in missing
    ):
        return MissingWeightsError(missing_message(config))
    return BackendError(f"could not load diffusers pipeline '{config.model}': {text[:300]}")
