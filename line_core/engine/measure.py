"""Measuring concepts for the loop: rows from the atlas (rendering only what is missing), score.

Every event goes out through the loop's ``emit`` (so it is written to the record) and every
stage through its ``timed`` (so the per-stage timings stay whole); the scores come back as the
generator's return value, one per concept, in order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager

import numpy as np

from line_core.atlas.measure import ConceptRows, measure_concepts
from line_core.concepts import concept_seeds, derive_seed
from line_core.engine.components import Components
from line_core.errors import BackendError
from line_core.record.events import ConceptScored, Event, ImagesGenerated, StageStarted
from line_core.record.history import ScoredRecord
from line_core.record.store import RunStore
from line_core.scoring import score_activations

Emit = Callable[[Event], Event]
Timed = Callable[[str], AbstractContextManager[None]]


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
        self.atlas = parts.atlas
        #: Called with every batch of (concept, seeds) requests before it is measured (a
        #: layer sweep gathers all neurons' requests there and fills the atlas in one batch).
        self.before_measure: Callable[[list[tuple[str, list[int]]]], None] | None = None

    def measure(self, concepts: Sequence[str], sources: Sequence[str], iteration: int,
                n_images: int) -> Iterator[Event]:
        """Yield the events of measuring ``concepts``; return their records in order.

        Each record holds the score, the unit's activation on every image and the images'
        paths in the run folder (the image-side evidence of the probes reads them).
        """
        yield self.emit(
            StageStarted(iteration=iteration, stage="generate", detail=", ".join(concepts)[:300])
        )
        requests = [(c, concept_seeds(c, self.seed, n_images)) for c in concepts]
        if self.before_measure is not None:
            self.before_measure(requests)
        parts = self.parts
        measured = measure_concepts(requests, parts.generator, parts.target, parts.layer,
                                    self.reduction, atlas=self.atlas, timed=self.timed)
        control = parts.control.unit(parts.neuron)
        records: list[ScoredRecord] = []
        for result, source in zip(measured, sources, strict=True):
            paths = yield from self._keep_images(result, iteration)
            values = np.asarray(result.rows[:, parts.neuron], dtype=np.float64)
            if not np.all(np.isfinite(values)):
                raise BackendError(
                    f"the model gave non-finite activations (NaN or inf) for '{result.concept}' "
                    f"at {parts.layer} unit {parts.neuron}: check the model and its inputs"
                )
            with self.timed("score"):
                score = score_activations(values, control,
                                          seed=derive_seed("boot", result.concept))
            records.append(ScoredRecord(result.concept, score, source, iteration=iteration,
                                        activations=tuple(float(v) for v in values),
                                        images=tuple(paths)))
            yield self.emit(
                ConceptScored.of(iteration, result.concept, source, score, values, paths)
            )
        return records

    def _keep_images(self, result: ConceptRows, iteration: int) -> Iterator[Event]:
        """Put a concept's images in the run folder (linked from the atlas) and log them."""
        generator = self.parts.generator
        with self.timed("store"):
            if result.files is not None:
                paths = [self.store.add_image_file(f) for f in result.files]
            else:
                paths = [self.store.save_image(img) for img in result.pictures or []]
        yield self.emit(
            ImagesGenerated(
                iteration=iteration,
                concept=result.concept,
                prompts=[generator.prompt_for(result.concept, s) for s in result.seeds],
                seeds=result.seeds,
                images=paths,
                seconds=result.seconds,
                dropped=result.dropped,
                cached=len(result.seeds) + len(result.dropped) - result.rendered,
            )
        )
        return paths
