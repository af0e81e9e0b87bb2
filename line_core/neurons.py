"""Find neurons: rank every unit of a layer by its response to one typed concept.

The concept is rendered once, the images go through the model in ONE batch, and every unit of
the layer is scored against its own control activations with the run scores (AUC, MAD ties
broken as in the loop). Useful to pick a unit worth explaining, or to check that a label is
specific to its unit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from line_core.atlas import Atlas
from line_core.atlas.measure import measure_concepts
from line_core.concepts import Score, ScoredConcept, concept_seeds
from line_core.errors import ConfigError
from line_core.generators.base import ImageGenerator
from line_core.scoring import mad
from line_core.targets.base import Target


@dataclass(frozen=True)
class NeuronMatch(ScoredConcept):
    """One unit's response to the concept (``concept`` is the typed concept)."""

    unit: int = 0


def unit_aucs(concept: np.ndarray, control: np.ndarray) -> np.ndarray:
    """AUC of every unit: concept activations [n, U] against control activations [m, U].

    Ties count half, exactly as :func:`line_core.scoring.auc`, computed for all units at once
    from the joint ranks (Mann-Whitney U = rank sum of the concept sample minus n(n+1)/2).
    """
    from scipy.stats import rankdata

    n, m = concept.shape[0], control.shape[0]
    if n == 0 or m == 0:
        raise ConfigError("finding neurons needs concept and control activations")
    joint = np.concatenate([concept, control], axis=0).astype(np.float64)
    ranks = rankdata(joint, axis=0)
    u = ranks[:n].sum(axis=0) - n * (n + 1) / 2.0
    return u / (n * m)


def rank_units(
    concept: np.ndarray, control: np.ndarray, top: int | None = 20, name: str = ""
) -> list[NeuronMatch]:
    """Units ranked by their response to concept ``name`` (best first), at most ``top``."""
    concept = np.asarray(concept, dtype=np.float64)
    control = np.asarray(control, dtype=np.float64)
    if concept.ndim != 2 or control.ndim != 2 or concept.shape[1] != control.shape[1]:
        raise ConfigError(
            f"activation shapes do not match: concept {concept.shape}, control {control.shape}"
        )
    aucs = unit_aucs(concept, control)
    mads = np.array([mad(concept[:, u], control[:, u]) for u in range(concept.shape[1])])
    means = concept.mean(axis=0)
    matches = [
        NeuronMatch(name, Score(auc=float(aucs[u]), mad=float(mads[u]),
                                mean_activation=float(means[u])), unit=u)
        for u in range(concept.shape[1])
    ]
    matches.sort(key=lambda m: m.rank_key, reverse=True)
    return matches if top is None else matches[: max(0, top)]


def find_neurons(
    target: Target,
    layer: str,
    generator: ImageGenerator,
    concept: str,
    control_activations: np.ndarray,
    n_images: int = 8,
    seed: int = 42,
    top: int | None = 20,
    reduction: str = "auto",
    atlas: Atlas | None = None,
) -> list[NeuronMatch]:
    """Render ``concept``, run one forward batch, and rank the layer's units by their response.

    ``control_activations`` is the layer's [n_control, n_units] control matrix (``ControlSet
    .activations``). With the layer's ``atlas``, a concept measured before is not rendered
    again. Returns at most ``top`` units, best first.
    """
    text = concept.strip()
    if not text:
        raise ConfigError("type a concept to find the neurons that respond to it")
    if n_images < 2:
        raise ConfigError("finding neurons needs at least 2 images of the concept")
    [measured] = measure_concepts([(text, concept_seeds(text, seed, n_images))], generator,
                                  target, layer, reduction, atlas=atlas)
    return rank_units(measured.rows, np.asarray(control_activations), top=top, name=text)
