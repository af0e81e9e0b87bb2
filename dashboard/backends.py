"""The engine behind the Explore view: cached backends, pre-flight, find neurons, start a run.

Backends are loaded once per server process (``st.cache_resource``) through
``line_core.engine.choices`` and handed to the engine's door, so a new run validates in seconds.
The run itself executes in a worker process the door starts; this process never iterates the
loop. A model spec that names the user's own code (``module:callable``, ``file.py:callable``)
is loaded only after the user confirmed it (see :func:`is_code_spec`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import streamlit as st

from line_core import engine
from line_core.config import ExplainConfig
from line_core.errors import ConfigError

#: Session-state key of the code specs this browser session confirmed ("Load").
CONFIRMED_KEY = "confirmed_code_specs"
LOG = logging.getLogger("line.dashboard")


def registry_entries(kind: str) -> list[Any]:
    """Entries (name, description, takes_argument) of the model/generator/proposer registry."""
    return engine.choices.registry_entries(kind)


def is_code_spec(spec: str) -> bool:
    """Whether a model spec names the user's own code (see ``engine.choices.is_code_spec``)."""
    return engine.choices.is_code_spec(spec)


def confirmed(spec: str) -> bool:
    """Whether this session pressed "Load" for a code spec (always True for other specs)."""
    return not is_code_spec(spec) or spec.strip() in st.session_state.get(CONFIRMED_KEY, ())


def confirm(spec: str) -> None:
    """Remember that this session chose to load (and so run) a code spec."""
    st.session_state[CONFIRMED_KEY] = {*st.session_state.get(CONFIRMED_KEY, ()), spec.strip()}


def _require_confirmed(spec: str) -> None:
    if not confirmed(spec):
        raise ConfigError(
            f"model '{spec}' is your own code: load it on the Explore page first (loading it "
            "imports and runs that code in this server)"
        )


@st.cache_resource(max_entries=4, show_spinner="Loading the model…")
def _target(spec: str) -> Any:
    return engine.choices.target(spec)


def target(spec: str) -> Any:
    """A loaded vision model, shared by every session (code specs need :func:`confirm`)."""
    _require_confirmed(spec)
    return _target(spec)


@st.cache_resource(max_entries=8, show_spinner="Listing the model's layers…")
def _layers(spec: str) -> dict[str, int]:
    return engine.choices.layers(_target(spec))


def layers(spec: str) -> dict[str, int]:
    """Readable layers of a model and their unit counts."""
    _require_confirmed(spec)
    return _layers(spec)


@st.cache_resource(max_entries=4, show_spinner="Loading the image generator…")
def generator(spec: str) -> Any:
    """A loaded image generator."""
    return engine.choices.generator(spec)


@st.cache_resource(max_entries=4, show_spinner="Loading the concept proposer…")
def proposer(spec: str, generator_spec: str, seed: int) -> Any:
    """A loaded concept proposer (validates that its weights or server settings exist)."""
    return engine.choices.proposer(spec, generator(generator_spec), seed)


def _backends(config: ExplainConfig) -> dict[str, Any]:
    return {
        "target": target(config.model),
        "generator": generator(config.generator),
        "proposer": proposer(config.proposer, config.generator, config.seed),
    }


@st.cache_resource(max_entries=8, show_spinner="Computing the control activations…")
def _control_set(
    model: str, layer: str, generator_spec: str, control: str, size: int, reduction: str
) -> Any:
    config = ExplainConfig(model=model, layer=layer, generator=generator_spec, control=control,
                           control_size=size, reduction=reduction)
    return engine.choices.control_set(config, _target(model), layer, generator(generator_spec))


def control_set(config: ExplainConfig, layer: str) -> Any:
    """The layer's control activations (cached on disk by the engine, in memory here)."""
    _require_confirmed(config.model)
    return _control_set(config.model, layer, config.generator, config.control,
                        config.control_size, config.reduction)


def preflight(config: ExplainConfig) -> list[str]:
    """Pre-flight warnings for a config (raises LineError for choices that cannot work)."""
    return engine.preflight(config, layers=layers(config.model), **_backends(config))


def start_run(config: ExplainConfig) -> Path:
    """Validate a config, create its run folder and start its worker; returns the run folder."""
    return engine.start_in_background(config, **_backends(config)).run_dir


def rerun_from_manifest(run_dir: Path, runs_dir: Path) -> Path:
    """Start a fresh run with the same config (models, seeds, prompts) as ``run_dir``."""
    config = replace(engine.run_config(run_dir), runs_dir=str(runs_dir))
    return start_run(config)


def find_neurons(config: ExplainConfig, layer: str, concept: str, top: int = 15) -> list[Any]:
    """Units of ``layer`` ranked by their response to a typed concept."""
    return engine.choices.neurons_for(
        config, target(config.model), layer, generator(config.generator),
        control_set(config, layer), concept, top=top,
    )


@st.cache_resource(max_entries=8, show_spinner=False)
def _atlas(model: str, layer: str, generator_spec: str, reduction: str) -> Any:
    return engine.atlas.layer_atlas(_target(model), layer, generator(generator_spec), reduction)


def atlas_summary(config: ExplainConfig, layer: str) -> Any:
    """What the layer's concept atlas holds now (and whether a build is running)."""
    _require_confirmed(config.model)
    return engine.atlas.summary(_atlas(config.model, layer, config.generator, config.reduction))


def build_atlas(config: ExplainConfig, layer: str) -> int:
    """Start building the layer's concept atlas in a background process; its pid.

    It renders with the setup's seed and images per concept, so the runs it serves find their
    initial pool's images already stored.
    """
    _require_confirmed(config.model)
    return engine.atlas.build_in_background(
        config.model, layer, config.generator, images_per_concept=config.images_per_concept,
        seed=config.seed, reduction=config.reduction,
    )


def layer_atlas(config: ExplainConfig, layer: str) -> Any:
    """The layer's concept atlas as the config's generator renders it (opened, maybe empty)."""
    _require_confirmed(config.model)
    return _atlas(config.model, layer, config.generator, config.reduction)


#: Sweeps this server started from the layer page: sweep folder -> its worker thread.
_SWEEPS: dict[str, threading.Thread] = {}
_SWEEP_ERRORS: dict[str, str] = {}


def _run_sweep(sweep: Any) -> None:
    """A sweep's worker thread: everything it does goes to the run store."""
    folder = str(sweep.record.folder)
    try:
        sweep.run()
    except Exception as exc:  # noqa: BLE001 - the page shows it; the runs record the rest
        LOG.exception("the sweep in %s failed", folder)
        _SWEEP_ERRORS[folder] = f"{type(exc).__name__}: {exc}"


def start_sweep(config: ExplainConfig, units: Sequence[int], parallel: int = 8) -> Path:
    """Explain ``units`` of the config's layer as one sweep in a worker thread; its folder.

    The settings are checked here (a ConfigError says what is wrong before anything starts);
    the thread only runs the sweep, which writes each unit's run to the run store like any run.
    """
    if not units:
        raise ConfigError("select at least one unit to explain")
    sweep = engine.sweep.plan_sweep(
        config, ",".join(str(u) for u in units), parallel=max(1, min(parallel, len(units))),
        target=target(config.model), generator=generator(config.generator),
    )
    folder = str(sweep.record.folder)
    running = _SWEEPS.get(folder)
    if running is not None and running.is_alive():
        return Path(folder)
    thread = threading.Thread(target=_run_sweep, args=(sweep,), name=f"sweep-{Path(folder).name}",
                              daemon=True)
    _SWEEPS[folder] = thread
    _SWEEP_ERRORS.pop(folder, None)
    thread.start()
    return Path(folder)


def sweeps_running() -> list[str]:
    """Folders of the sweeps this server is running now."""
    return [folder for folder, thread in _SWEEPS.items() if thread.is_alive()]


def sweep_errors() -> dict[str, str]:
    """Sweeps this server started that stopped with an error (folder -> one line)."""
    return dict(_SWEEP_ERRORS)
