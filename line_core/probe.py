"""Forward-hook probing: per-unit activations of a layer for a batch of images.

Hooks are global state on a module, so they live only inside :class:`ActivationHook`'s context
(zennit style): every hook is removed on exit, also when the forward raises. One forward pass per
batch serves every unit of the hooked layer(s); the forward stops as soon as the last hooked
layer has produced its output.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING

import numpy as np
import torch
from PIL import Image

from line_core.errors import BackendError, ConfigError, LineError

if TYPE_CHECKING:  # a runtime import would be circular (targets list layers with the probe)
    from line_core.targets.base import Target

REDUCTIONS = ("auto", "mean", "max", "cls")
Images = Sequence[Image.Image] | torch.Tensor


_LOCKS_GUARD = threading.Lock()
_MODEL_LOCKS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

class _StopForward(BaseException):
    """Raised by a hook once every requested output is captured; caught by the prober.

    A BaseException, so that model code with a broad ``except Exception`` cannot swallow it.
    """


class ActivationHook:
    """Context manager capturing the outputs of named submodules of a model.

    Only the first call of a module in one forward is kept (a module reused several times,
    e.g. one shared activation function, is read at its first call); ``calls`` counts them all.
    With ``stop_early`` the forward is interrupted once every named module has produced an output.

    >>> with ActivationHook(model, ["layer4"]) as hook:   # doctest: +SKIP
    ...     hook.run(batch)
    ...     features = hook.outputs["layer4"]
    """

    def __init__(
        self, model: torch.nn.Module, layers: Iterable[str], *, stop_early: bool = True
    ) -> None:
        self.model = model
        self.layers = list(dict.fromkeys(layers))
        self.stop_early = stop_early
        self.outputs: dict[str, object] = {}
        self.calls: dict[str, int] = {}
        self._handles: list[torch.utils.hooks.RemovableHandle] = []
        self._modules = {name: resolve_module(model, name) for name in self.layers}

    def __enter__(self) -> ActivationHook:
        self.outputs.clear()
        self.calls.clear()
        try:
            for name, module in self._modules.items():
                self._handles.append(module.register_forward_hook(self._hook_for(name)))
        except BaseException:
            self.remove()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.remove()

    def remove(self) -> None:
        """Remove every hook this object registered (safe to call twice)."""
        while self._handles:
            self._handles.pop().remove()

    def reset(self) -> None:
        """Forget captured outputs before the next batch."""
        self.outputs.clear()
        self.calls.clear()

    def run(self, batch: torch.Tensor) -> None:
        """Forward ``batch`` through the model, stopping early if allowed."""
        self.reset()
        try:
            self.model(batch)
        except _StopForward:
            pass

    def _hook_for(self, name: str) -> Callable[[torch.nn.Module, object, object], None]:
        def hook(module: torch.nn.Module, inputs: object, output: object) -> None:
            self.calls[name] = self.calls.get(name, 0) + 1
            if name not in self.outputs:
                self.outputs[name] = output
            if self.stop_early and len(self.outputs) == len(self.layers):
                raise _StopForward

        return hook


def resolve_module(model: torch.nn.Module, layer: str) -> torch.nn.Module:
    """The submodule named ``layer``; ConfigError if there is none."""
    try:
        return model.get_submodule(layer) if layer else model
    except AttributeError:
        raise ConfigError(
            f"layer '{layer}' not found in the model; run `line layers MODEL` to list layers"
        ) from None


def target_device(target: Target) -> torch.device:
    """The device the target's model lives on (of its first parameter or buffer; else CPU)."""
    for tensor in target.model.parameters():
        return tensor.device
    for tensor in target.model.buffers():
        return tensor.device
    return torch.device("cpu")


def reduce_output(output: torch.Tensor, reduction: str = "auto", token_layout: str = "cls"):
    """Reduce one layer output to [N, units].

    4-D conv maps [N, C, H, W]: "auto"/"mean" = spatial mean, "max" = spatial max.
    3-D tokens [N, T, D]: "auto" = CLS token (index 0) when ``token_layout`` is "cls", else the
    token mean; "cls", "mean" and "max" (over tokens) explicitly. 2-D [N, D]: identity.
    """
    if reduction not in REDUCTIONS:
        raise ConfigError(
            f"unknown reduction '{reduction}'; choose one of: {', '.join(REDUCTIONS)}"
        )
    if output.dim() == 2:
        return output
    if output.dim() == 4:
        if reduction == "cls":
            raise ConfigError("reduction 'cls' needs token outputs [N, T, D]; use 'mean' or 'max'")
        if reduction == "max":
            return output.amax(dim=(2, 3))
        return output.mean(dim=(2, 3))
    if output.dim() == 3:
        if reduction == "auto":
            reduction = "cls" if token_layout == "cls" else "mean"
        if reduction == "cls":
            return output[:, 0, :]
        if reduction == "max":
            return output.amax(dim=1)
        return output.mean(dim=1)
    raise ConfigError(
        f"cannot read units from an output of shape {tuple(output.shape)}; "
        "pick a layer with [N, C, H, W], [N, T, D] or [N, D] output"
    )


def image_batches(target: Target, images: Images, batch_size: int) -> Iterable[torch.Tensor]:
    """Yield preprocessed input batches: PIL images go through ``target.preprocess``."""
    if batch_size < 1:
        raise ConfigError(f"batch_size must be at least 1, got {batch_size}")
    if isinstance(images, torch.Tensor):
        if images.dim() != 4:
            raise ConfigError(f"a tensor batch must be [N, C, H, W], got {tuple(images.shape)}")
        for start in range(0, images.shape[0], batch_size):
            yield images[start : start + batch_size]
        return
    images = list(images)
    for start in range(0, len(images), batch_size):
        yield target.preprocess(images[start : start + batch_size])


def multi_layer_activations(
    target: Target,
    layers: Sequence[str],
    images: Images,
    reduction: str = "auto",
    batch_size: int = 64,
) -> dict[str, np.ndarray]:
    """Activations of several layers from one forward pass per batch.

    Returns ``{layer: float32 array [n_images, n_units]}``; see :func:`reduce_output`.
    """
    if reduction not in REDUCTIONS:
        raise ConfigError(
            f"unknown reduction '{reduction}'; choose one of: {', '.join(REDUCTIONS)}"
        )
    layers = list(dict.fromkeys(layers))
    if not layers:
        raise ConfigError("no layer given")
    model = target.model
    device = target_device(target)
    token_layout = target.token_layout
    chunks: dict[str, list[np.ndarray]] = {layer: [] for layer in layers}
    with _model_lock(model):  # hooks and train/eval state belong to one caller at a time
        _forward_all(target, model, layers, images, reduction, batch_size, device,
                     token_layout, chunks)
    return {layer: _concat(parts) for layer, parts in chunks.items()}


def _model_lock(model: torch.nn.Module) -> threading.RLock:
    """The lock of one model: threads sharing a model (a sweep, the dashboard) take turns."""
    with _LOCKS_GUARD:
        lock = _MODEL_LOCKS.get(model)
        if lock is None:
            lock = _MODEL_LOCKS[model] = threading.RLock()
        return lock


def _forward_all(target: Target, model: torch.nn.Module, layers: list[str], images: Images,
                 reduction: str, batch_size: int, device: torch.device, token_layout: str,
                 chunks: dict[str, list[np.ndarray]]) -> None:
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode(), ActivationHook(model, layers) as hook:
            for batch in image_batches(target, images, batch_size):
                try:
                    hook.run(batch.to(device))
                except LineError:
                    raise
                except (Exception, SystemExit) as exc:  # the model's own code failed
                    text = " ".join(str(exc).split())[:300]
                    raise BackendError(
                        f"the model '{target.name}' failed in its forward pass: "
                        f"{type(exc).__name__}: {text}"
                    ) from exc
                for layer in layers:
                    output = _tensor_output(hook.outputs.get(layer), layer)
                    reduced = reduce_output(output, reduction, token_layout)
                    chunks[layer].append(reduced.float().cpu().numpy())
    finally:
        model.train(was_training)


def layer_activations(
    target: Target,
    layer: str,
    images: Images,
    reduction: str = "auto",
    batch_size: int = 64,
) -> np.ndarray:
    """Per-unit activations of ``layer``: float32 array [n_images, n_units].

    ``images`` are PIL images (preprocessed by the target) or an already preprocessed tensor
    batch. One forward per batch serves every unit; the forward stops after ``layer``.
    """
    return multi_layer_activations(target, [layer], images, reduction, batch_size)[layer]


def _tensor_output(output: object, layer: str) -> torch.Tensor:
    if output is None:
        raise ConfigError(f"layer '{layer}' produced no output in the forward pass (is it used?)")
    if not isinstance(output, torch.Tensor):
        raise ConfigError(
            f"layer '{layer}' outputs {type(output).__name__}, not a tensor; "
            "run `line layers MODEL` to list readable layers"
        )
    return output


def _concat(parts: list[np.ndarray]) -> np.ndarray:
    if not parts:
        return np.zeros((0, 0), dtype=np.float32)
    return np.ascontiguousarray(np.concatenate(parts, axis=0), dtype=np.float32)
