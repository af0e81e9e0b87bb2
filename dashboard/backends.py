"""The engine behind the Explore view: cached models, pre-flight, find neurons, start a run.

Models are loaded once per server process (``st.cache_resource``) and handed to
``line_core.runs.new_run`` so a new run validates in seconds. The run itself executes in a
worker process (``line_core.worker``); this process never iterates the loop.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import streamlit as st

from line_core.config import ExplainConfig

#: Control prompts rendered for the duplicate-layer pre-flight check.
PREFLIGHT_IMAGES = 4


@st.cache_resource(max_entries=4, show_spinner="Loading the model…")
def target(spec: str) -> Any:
    """A loaded vision model (``line_core.targets.load_target``), shared by every session."""
    from line_core.targets import load_target

    return load_target(spec)


@st.cache_resource(max_entries=8, show_spinner="Listing the model's layers…")
def layers(spec: str) -> dict[str, int]:
    """Readable layers of a model and their unit counts."""
    from line_core.targets import list_layers

    return dict(list_layers(target(spec)))


@st.cache_resource(max_entries=4, show_spinner="Loading the image generator…")
def generator(spec: str) -> Any:
    """A loaded image generator."""
    from line_core.generators import GENERATORS

    return GENERATORS.create(spec)


@st.cache_resource(max_entries=4, show_spinner="Loading the concept proposer…")
def proposer(spec: str, generator_spec: str, seed: int) -> Any:
    """A loaded concept proposer (validates that its weights or server settings exist)."""
    from line_core.proposers import PROPOSERS

    return PROPOSERS.create(spec, generator=generator(generator_spec), seed=seed)


def registry_entries(kind: str) -> list[Any]:
    """Entries (name, description, takes_argument) of the model/generator/proposer registry."""
    if kind == "model":
        from line_core.targets import TARGETS as registry
    elif kind == "generator":
        from line_core.generators import GENERATORS as registry
    else:
        from line_core.proposers import PROPOSERS as registry
    return registry.entries()


def _backends(config: ExplainConfig) -> dict[str, Any]:
    return {
        "target": target(config.model),
        "generator": generator(config.generator),
        "proposer": proposer(config.proposer, config.generator, config.seed),
    }


@st.cache_resource(max_entries=8, show_spinner="Computing the control activations…")
def control_set(
    model: str, layer: str, generator_spec: str, control: str, size: int, reduction: str
) -> Any:
    """The layer's control activations (cached on disk by the engine, in memory here)."""
    from line_core.control import load_control

    return load_control(
        control, target(model), layer, generator(generator_spec), size=size, reduction=reduction
    )


def preflight(config: ExplainConfig) -> list[str]:
    """Pre-flight warnings for a config (raises LineError for choices that cannot work)."""
    from line_core.components import build_components
    from line_core.preflight import preflight as run_checks

    parts = build_components(config, **_backends(config))
    prompts = parts.generator.control_prompts()[:PREFLIGHT_IMAGES]
    images = [img for i, p in enumerate(prompts) for img in parts.generator.generate(p, [i])]
    return run_checks(
        parts.target,
        parts.layer,
        parts.neuron,
        parts.control,
        config.images_per_concept,
        images=images,
        layers=layers(config.model),
        reduction=config.reduction,
    )


def start_run(config: ExplainConfig) -> Path:
    """Validate a config, create its run folder and start its worker; returns the run folder."""
    from line_core.runs import new_run
    from line_core.worker import launch_worker

    explainer = new_run(config, **_backends(config))
    run_dir = explainer.store.run_dir
    launch_worker(run_dir)
    return run_dir


def rerun_from_manifest(run_dir: Path, runs_dir: Path) -> Path:
    """Start a fresh run with the same config (models, seeds, prompts) as ``run_dir``."""
    from line_core.runs import run_config

    config = replace(run_config(run_dir), runs_dir=str(runs_dir))
    return start_run(config)


def find_neurons(
    config: ExplainConfig, layer: str, concept: str, top: int = 15
) -> list[Any]:
    """Units of ``layer`` ranked by their response to a typed concept."""
    from line_core.neurons import find_neurons as rank

    control = control_set(
        config.model, layer, config.generator, config.control, config.control_size,
        config.reduction,
    )
    return rank(
        target(config.model),
        layer,
        generator(config.generator),
        concept,
        control.activations,
        n_images=max(config.images_per_concept, 6),
        seed=config.seed,
        top=top,
        reduction=config.reduction,
    )
