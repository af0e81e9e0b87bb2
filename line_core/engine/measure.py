"""Measuring concepts for the loop: render, store the images, one forward for all, score.

Every event goes out through the loop's ``emit`` (so it is written to the record) and every
stage through its ``timed`` (so the per-stage timings stay whole); the scores come back as the
generator's return value, one per concept, in order.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager

import numpy as np

from line_core.concepts import Score, concept_seeds, derive_seed
from line_core.engine.components import Components
from line_core.errors import BackendError
from line_core.probe import layer_activations
from line_core.record.events import ConceptScored, Event, ImagesGenerated, StageStarted
from line_core.record.store import RunStore
from line_core.scoring import score_activations

Emit = Callable[[Event], Event]
Timed = Callable[[str], AbstractContextManager[None]]


def drop_flagged(
    generator: object, images: list, seeds: list[int]
) -> tuple[list, list[int], list[int]]:
    """Drop images a generator flagged as blacked out (safety checker); never score them."""
    flagged = set(getattr(generator, "last_flagged", None) or [])
    if not flagged:
        return images, seeds, []
    keep = [i for i in range(len(images)) if i not in flagged]
    if len(keep) < 2:
        raise BackendError(
            f"the generator blacked out {len(flagged)} of {len(images)} images (safety checker); "
            "rephrase the concept or use another generator"
        )
    return [images[i] for i in keep], [seeds[i] for i in keep], sorted(flagged)


class ConceptMeter:
    """Renders concepts with a run's seeds, stores their images, forwards them and scores them."""

    def __init__(self, parts: Components, seed: int, reduction: str, store: RunStore,
                 emit: Emit, timed: Timed) -> None:
        self.parts = parts
        self.seed = seed
        self.reduction = reduction
        self.store = store
        self.emit = emit
        self.timed = timed

    def measure(self, concepts: Sequence[str], sources: Sequence[str], iteration: int,
                n_images: int) -> Iterator[Event]:
        """Yield the events of measuring ``concepts``; return their scores in order."""
        yield self.emit(
            StageStarted(iteration=iteration, stage="generate", detail=", ".join(concepts)[:300])
        )
        rendered = []
        for concept in concepts:
            images, paths = yield from self._render(concept, iteration, n_images)
            rendered.append((concept, images, paths))
        yield self.emit(StageStarted(iteration=iteration, stage="forward"))
        with self.timed("forward"):
            all_images = [img for _, images, _ in rendered for img in images]
            acts = layer_activations(
                self.parts.target, self.parts.layer, all_images, reduction=self.reduction
            )[:, self.parts.neuron]
        control = self.parts.control.unit(self.parts.neuron)
        scores: list[Score] = []
        offset = 0
        for (concept, images, paths), source in zip(rendered, sources, strict=True):
            values = np.asarray(acts[offset : offset + len(images)], dtype=np.float64)
            offset += len(images)
            if not np.all(np.isfinite(values)):
                raise BackendError(
                    f"the model gave non-finite activations (NaN or inf) for '{concept}' at "
                    f"{self.parts.layer} unit {self.parts.neuron}: check the model and its inputs"
                )
            with self.timed("score"):
                score = score_activations(values, control, seed=derive_seed("boot", concept))
            scores.append(score)
            yield self.emit(ConceptScored.of(iteration, concept, source, score, values, paths))
        return scores

    def _render(self, concept: str, iteration: int, n_images: int) -> Iterator[Event]:
        generator = self.parts.generator
        seeds = concept_seeds(concept, self.seed, n_images)
        started = time.perf_counter()
        with self.timed("generate"):
            images = generator.generate(concept, seeds)
        seconds = time.perf_counter() - started
        images, seeds, dropped = drop_flagged(generator, images, seeds)
        with self.timed("store"):
            paths = [self.store.save_image(img) for img in images]
        yield self.emit(
            ImagesGenerated(
                iteration=iteration,
                concept=concept,
                prompts=[generator.prompt_for(concept, s) for s in seeds],
                seeds=seeds,
                images=paths,
                seconds=seconds,
                dropped=dropped,
            )
        )
        return images, paths
