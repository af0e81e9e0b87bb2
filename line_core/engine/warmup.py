"""Prepare, once at set-up, everything the first run of a config waits on (``line prepare``).

A first Start on a fresh install otherwise pays, inside the run: loading and (for the local LLM
proposers) converting models, embedding the lexicon's vocabulary with MiniLM, rendering and
forwarding the control images, and rendering and forwarding the whole seed vocabulary of the
initial pool. Each of these lands in a cache under ``$LINE_CACHE_DIR`` (see
``line_core.paths``): converted models, the embedding cache, the layer's control activations
and the layer's concept atlas. Preparing fills them by doing exactly what the run would do, with
the run's seeds, so the first run reuses the results instead of recomputing them and its
results are unchanged (the atlas holds renders and activations, not labels).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from line_core.config import ExplainConfig
from line_core.engine import choices
from line_core.engine.door import preflight, prepare, start
from line_core.paths import cache_dir


@dataclass(frozen=True)
class PreparedStep:
    """One thing prepared and how long it took."""

    name: str
    seconds: float
    detail: str = ""


Report = Callable[[PreparedStep], None]


def _warm(proposer: object) -> bool:
    """Let a proposer do its one-off work now (the lexicon embeds its vocabulary)."""
    warm_up = getattr(proposer, "warm_up", None)
    if callable(warm_up):
        warm_up()
        return True
    return False


def prepare_first_run(config: ExplainConfig | None = None,
                      report: Report | None = None) -> list[PreparedStep]:
    """Fill the caches the first run of ``config`` (default: the offline default) reads.

    Returns the steps with their seconds (``report`` hears each as it ends). Nothing is left
    in any runs folder: the initial pool is scored in a scratch run that is removed.
    """
    config = config or ExplainConfig()
    steps: list[PreparedStep] = []

    @contextmanager
    def step(name: str) -> Iterator[list[str]]:
        began = time.perf_counter()
        detail: list[str] = []
        yield detail
        done = PreparedStep(name, time.perf_counter() - began, "; ".join(detail))
        steps.append(done)
        if report is not None:
            report(done)

    with step("model") as detail:
        target = choices.target(config.model)
        layers = choices.layers(target)
        detail.append(f"{target.name}, {len(layers)} layers")
    with step("proposer") as detail:
        generator = choices.generator(config.generator)
        proposer = choices.proposer(config.proposer, generator, config.seed)
        detail.append(f"{config.proposer}" + (" (vocabulary embedded)" if _warm(proposer) else ""))
    with step("control activations") as detail:
        parts = prepare(config, target=target, generator=generator, proposer=proposer)
        _warm(parts.fallback)  # the fallback lexicon of an LLM proposer
        detail.append(f"{parts.control.activations.shape[0]} images at {parts.layer}")
    with step("pre-flight"):
        preflight(config, parts, layers=layers)
    with step("initial pool") as detail:
        detail.append(_score_initial_pool(config, target, generator, proposer))
    return steps


def _score_initial_pool(config: ExplainConfig, target: object, generator: object,
                        proposer: object) -> str:
    """Score the initial pool in a scratch run (its renders stay in the layer's atlas)."""
    scratch = tempfile.mkdtemp(prefix="prepare-", dir=cache_dir())
    try:
        scratch_config = replace(config, iterations=0, summary=False, runs_dir=scratch,
                                 review=False)
        started = start(scratch_config, target=target, generator=generator, proposer=proposer)
        scored = sum(1 for e in started.explainer.run() if e.type == "concept_scored")
        return f"{scored} concepts in the atlas"
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
