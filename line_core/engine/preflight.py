"""Pre-flight checks: warn about silent misconfiguration before a run spends its budget.

Three mistakes produce a run that completes and looks plausible yet means nothing:

* the unit is **dead or constant** on the control set (every concept then ties with the
  control, or beats it by an artefact of the read-out);
* the chosen layer's activations **equal another layer's** on the same images, a sign that the
  hook reads the wrong module (an in-place activation overwrote a normalisation layer's output,
  a module that is an identity, a wrapper around the real layer);
* the control set is **too small** to score against (AUC of 5 images against 10 saturates at
  1.0 for almost anything).

Every check is a pure function returning warnings as one-line strings (empty list: all clear);
:func:`preflight` runs them all on a run's resolved components.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

from line_core.control import MIN_CONTROL_IMAGES, ControlSet
from line_core.errors import ConfigError
from line_core.probe import multi_layer_activations
from line_core.targets.base import Target

#: Control-set size from which a 5-image AUC stops saturating in practice (see the guide).
RECOMMENDED_CONTROL = 40
#: A unit whose control activations sit at one value this often is "mostly constant".
MOSTLY_CONSTANT_SHARE = 0.8
#: How many other layers the duplicate-layer check compares with (nearest in module order).
DUPLICATE_NEIGHBOURS = 12


def check_unit_activity(values: Sequence[float], neuron: int | None = None) -> list[str]:
    """Warnings for a unit that is dead, constant or mostly constant on the control images."""
    acts = np.asarray(values, dtype=np.float64).reshape(-1)
    name = f"unit {neuron}" if neuron is not None else "the unit"
    if acts.size == 0:
        return [f"{name} has no control activations: the control set is empty"]
    if not np.all(np.isfinite(acts)):
        bad = int(np.sum(~np.isfinite(acts)))
        return [f"{name} gives non-finite activations on {bad} of {acts.size} control images"]
    scale = max(float(np.max(np.abs(acts))), 1e-12)
    if float(np.ptp(acts)) <= 1e-7 * scale or float(np.max(np.abs(acts))) == 0.0:
        value = float(acts[0])
        kind = "dead (always 0)" if value == 0.0 else f"constant ({value:.4g})"
        return [
            f"{name} is {kind} on all {acts.size} control images: every concept will tie with "
            "the control; pick another unit (try 'Find neurons')"
        ]
    _, counts = np.unique(acts, return_counts=True)
    share = float(counts.max()) / acts.size
    if share >= MOSTLY_CONSTANT_SHARE:
        return [
            f"{name} takes one value on {share:.0%} of the control images (mostly inactive): "
            "scores will rest on a few images; consider another unit or a larger control set"
        ]
    return []


def require_finite(values: Sequence[float], layer: str, neuron: int) -> None:
    """ConfigError when the unit's control activations hold NaN or infinity (nothing can score)."""
    acts = np.asarray(values, dtype=np.float64).reshape(-1)
    bad = int(np.sum(~np.isfinite(acts)))
    if bad:
        raise ConfigError(
            f"{layer} unit {neuron} gives non-finite activations (NaN or inf) on {bad} of "
            f"{acts.size} control images: the model or its weights are broken for this input"
        )


def check_control_size(n_control: int, images_per_concept: int = 5) -> list[str]:
    """Warnings for a control set too small for a stable AUC."""
    if n_control < MIN_CONTROL_IMAGES:
        return [
            f"the control set has {n_control} images; at least {MIN_CONTROL_IMAGES} are needed "
            "to score against (use a larger control size or folder)"
        ]
    if n_control < RECOMMENDED_CONTROL or n_control < 4 * images_per_concept:
        enough = max(RECOMMENDED_CONTROL, 8 * images_per_concept)
        return [
            f"the control set has only {n_control} images for {images_per_concept} images per "
            f"concept: AUCs will saturate near 1; use {enough} or more"
        ]
    return []


def same_activations(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two [images, units] activation arrays are the same (up to float noise)."""
    if a.shape != b.shape or a.size == 0:
        return False
    return bool(np.allclose(a, b, rtol=1e-5, atol=1e-6 * max(1.0, float(np.abs(a).max()))))


def duplicate_layers(
    target: Target,
    layer: str,
    images: Sequence[Image.Image],
    layers: dict[str, int],
    reduction: str = "auto",
    neighbours: int = DUPLICATE_NEIGHBOURS,
) -> list[str]:
    """Layers (with as many units as ``layer``) whose activations equal ``layer``'s on ``images``.

    The chosen layer and up to ``neighbours`` same-width layers nearest to it in module order
    (a wrong hook is almost always a neighbour) are read in one forward pass per read-out. Two
    layers count as the same only if they agree under the run's read-out AND under the spatial
    (or token) max: a conv map and the global average pool after it agree on the mean by
    construction, which is expected, not a wrong hook.
    """
    if layer not in layers or not images:
        return []
    names = list(layers)
    position = names.index(layer)
    same_width = [n for n in names if n != layer and layers[n] == layers[layer]]
    same_width.sort(key=lambda n: abs(names.index(n) - position))
    candidates = same_width[:neighbours]
    if not candidates:
        return []
    found = candidates
    for read_out in dict.fromkeys([reduction, "max"]):
        if not found:
            break
        acts = multi_layer_activations(target, [layer, *found], images, reduction=read_out)
        found = [n for n in found if same_activations(acts[layer], acts[n])]
    return found


def check_duplicate_layers(layer: str, duplicates: Sequence[str]) -> list[str]:
    """The warning for a layer whose activations equal other layers' (empty if none)."""
    if not duplicates:
        return []
    shown = ", ".join(f"'{d}'" for d in duplicates[:4])
    more = f" and {len(duplicates) - 4} more" if len(duplicates) > 4 else ""
    return [
        f"layer '{layer}' gives exactly the same activations as {shown}{more} on the same images: "
        "one hook may read the wrong module (in-place activation, identity or wrapper); make "
        "sure this is the layer you mean"
    ]


def preflight(
    target: Target,
    layer: str,
    neuron: int,
    control: ControlSet,
    images_per_concept: int,
    images: Sequence[Image.Image] = (),
    layers: dict[str, int] | None = None,
    reduction: str = "auto",
) -> list[str]:
    """Every pre-flight warning for one unit (empty list: nothing suspicious found).

    ``images`` (a handful suffices) feed the duplicate-layer check; without them, or without
    ``layers`` (see ``line_core.layers.list_layers``), that check is skipped.
    """
    warnings = check_control_size(int(control.activations.shape[0]), images_per_concept)
    if control.activations.size:
        warnings += check_unit_activity(control.unit(neuron), neuron)
    if images and layers:
        found = duplicate_layers(target, layer, images, layers, reduction=reduction)
        warnings += check_duplicate_layers(layer, found)
    return warnings
