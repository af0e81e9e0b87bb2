"""The LINE algorithm as an iterator of events, written to the run store as they happen.

Iteration 0 scores the initial pool (control classes: top 5 + 5 random; otherwise the
generator's seed vocabulary: top 5 + 5 random). Iterations 1..K each propose one new concept,
render it, score it against the control set and update the pool. Iteration K+1 (summary) asks for
one concept generalising the top 3. A resumed run rebuilds its state from the events and
continues after the last completed iteration.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict

import numpy as np

from line_core.components import Components
from line_core.config import ExplainConfig
from line_core.errors import BackendError
from line_core.events import (
    ConceptProposed,
    ConceptScored,
    Event,
    ImagesGenerated,
    IterationDone,
    PoolUpdated,
    RunFinished,
    RunResumed,
    RunStarted,
    StageStarted,
)
from line_core.history import build_history, write_history_tables
from line_core.pool import PoolEntry, concept_seeds, derive_seed, sort_pool, update_pool
from line_core.probe import layer_activations
from line_core.proposers import PROPOSERS, Proposal, ProposalRequest, ScoredConcept
from line_core.proposers.novelty import normalise
from line_core.scoring import score_activations
from line_core.steering import Steering
from line_core.store import RunStore

RANDOM_INITIAL = 5
TOP_INITIAL = 5
MAX_PROPOSAL_TRIES = 3


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


class Explainer:
    """Runs (or resumes) one explanation; iterate ``run()`` to drive it."""

    def __init__(self, config: ExplainConfig, parts: Components, store: RunStore) -> None:
        self.config = config
        self.parts = parts
        self.store = store
        self.scores: dict[str, PoolEntry] = {}
        self.sources: dict[str, str] = {}
        self.pool: list[PoolEntry] = []
        self.forbidden: set[str] = set()
        self.timings: dict[str, float] = {}
        self.start_iteration = 0
        self.steering = Steering(self)
        self._lexicon = None
        self.resuming = False
        self.already_finished = False
        self._restore()

    # -- state ---------------------------------------------------------------------------
    def _restore(self) -> None:
        history = build_history(self.store.events())
        done = history.last_completed_iteration
        self.resuming = history.started is not None
        self.already_finished = history.finished is not None
        if not self.resuming:
            return
        for record in history.records:
            if record.iteration <= done:
                self._remember(record.concept, record.source, record.auc, record.mad)
        for proposal in history.proposals:
            if proposal.iteration <= done:
                self.forbidden.add(normalise(proposal.concept))
        for action in history.actions:
            if action.iteration <= done:
                self.steering.restore(action)
        if done >= 0 and done in history.pools:
            self.pool = sort_pool([self.scores[c] for c in history.pools[done] if c in self.scores])
        self.start_iteration = done + 1

    def _remember(self, concept: str, source: str, auc: float, mad: float) -> PoolEntry:
        entry = PoolEntry(concept, auc, mad)
        self.scores[concept] = entry
        self.sources.setdefault(concept, source)
        self.forbidden.add(normalise(concept))
        return entry

    @property
    def final_iteration(self) -> int:
        """Index of the last iteration (the summary one when enabled)."""
        return self.config.iterations + (1 if self.config.summary else 0)

    def best(self) -> PoolEntry | None:
        """Best concept tried so far (banned ones excluded)."""
        allowed = [e for e in self.scores.values() if not self.steering.is_banned(e.concept)]
        return max(allowed, key=lambda e: e.rank_key, default=None)

    # -- events --------------------------------------------------------------------------
    def emit(self, event: Event) -> Event:
        """Write an event to the store (the loop's only output) and return it."""
        started = time.perf_counter()
        self.store.append(event)
        self._add_time("store", time.perf_counter() - started)
        return event

    def _add_time(self, stage: str, seconds: float) -> None:
        self.timings[stage] = self.timings.get(stage, 0.0) + seconds

    @contextmanager
    def _timed(self, stage: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self._add_time(stage, time.perf_counter() - started)

    # -- the run -------------------------------------------------------------------------
    def run(self) -> Iterator[Event]:
        """Drive the run to its end (or to a researcher's stop), yielding every event."""
        run_started = time.perf_counter()
        self.store.prepare_append()
        if self.already_finished and not self.steering.pending():
            return
        if not self.resuming:
            yield self.emit(
                RunStarted(
                    model=self.parts.target.name,
                    layer=self.parts.layer,
                    neuron=self.parts.neuron,
                    generator=self.parts.generator.name,
                    proposer=getattr(self.parts.proposer, "name", self.config.proposer),
                    iterations=self.config.iterations,
                )
            )
        else:
            yield self.emit(RunResumed(from_iteration=self.start_iteration - 1))
        if self.already_finished:  # steering a finished run: apply the commands, re-finish
            yield from self.steering.handle_commands(self.final_iteration)
        for iteration in range(self.start_iteration, self.final_iteration + 1):
            self.timings = {}
            began = time.perf_counter()
            if iteration > 0:  # commands wait until the initial pool exists
                yield from self.steering.handle_commands(iteration)
            if self.steering.stopped:
                return
            if iteration == 0:
                yield from self._initial_pool()
            else:
                yield from self._iterate(iteration, summary=iteration > self.config.iterations)
            if self.steering.stopped:
                return
            yield from self.steering.handle_commands(iteration)
            best = self.best()
            yield self.emit(
                IterationDone(
                    iteration=iteration,
                    best_concept=best.concept if best else "",
                    best_auc=best.auc if best else 0.0,
                    best_mad=best.mad if best else 0.0,
                    seconds=time.perf_counter() - began,
                    stage_seconds={k: round(v, 4) for k, v in self.timings.items()},
                )
            )
        yield from self.steering.handle_commands(self.final_iteration)  # posted at the very end
        if self.steering.stopped:
            return
        best = self.best()
        yield self.emit(
            RunFinished(
                label=best.concept if best else "",
                auc=best.auc if best else 0.0,
                mad=best.mad if best else 0.0,
                seconds=time.perf_counter() - run_started,
            )
        )
        write_history_tables(self.store.run_dir, build_history(self.store.events()))

    # -- iteration 0 ---------------------------------------------------------------------
    def _initial_candidates(self) -> list[tuple[str, str]]:
        """(concept, source) pairs to score for the initial pool.

        With labelled control classes: the 5 classes of highest mean activation
        ("control-class") plus 5 random others ("random-class", the chance baseline). Otherwise
        the generator's whole seed vocabulary ("seed"); the pool keeps its top 5 + 5 random.
        """
        rng = random.Random(derive_seed("initial", self.config.seed))
        class_means = self.parts.control.class_means(self.parts.neuron)
        if class_means:
            ranked = sorted(class_means, key=class_means.get, reverse=True)
            rest = ranked[TOP_INITIAL:]
            randoms = rng.sample(rest, min(RANDOM_INITIAL, len(rest)))
            return [(c, "control-class") for c in ranked[:TOP_INITIAL]] + [
                (c, "random-class") for c in randoms
            ]
        vocabulary = list(dict.fromkeys(self.parts.generator.seed_concepts()))
        return [(c, "seed") for c in vocabulary if not self.steering.is_banned(c)]

    def _initial_pool(self) -> Iterator[Event]:
        candidates = self._initial_candidates()
        for concept, source in candidates:
            yield self.emit(
                ConceptProposed(iteration=0, concept=concept, source=source, reasoning=source)
            )
        concepts = [c for c, _ in candidates]
        scored = yield from self.evaluate(concepts, [s for _, s in candidates], iteration=0)
        if candidates and candidates[0][1] == "seed":  # keep the top 5 plus 5 random others
            ranked = sort_pool(scored)
            rng = random.Random(derive_seed("initial-random", self.config.seed))
            rest = ranked[TOP_INITIAL:]
            chosen = ranked[:TOP_INITIAL] + rng.sample(rest, min(RANDOM_INITIAL, len(rest)))
        else:
            chosen = scored
        self.pool = sort_pool(chosen)[: self.config.pool_size]
        yield self.emit(
            PoolUpdated(iteration=0, pool=[e.concept for e in self.pool], added="", removed=None)
        )

    # -- iterations 1..K+1 ---------------------------------------------------------------
    def _request(self, iteration: int, summary: bool, attempt: int) -> ProposalRequest:
        pool = sort_pool(self.pool)
        view = pool[:3] if summary else pool
        return ProposalRequest(
            pool=[
                ScoredConcept(e.concept, e.auc, e.mad, self.sources.get(e.concept, ""))
                for e in view
            ],
            forbidden=set(self.forbidden),
            iteration=iteration,
            seed=derive_seed("propose", self.config.seed, iteration, attempt),
            generator_description=self.parts.generator.describe(),
            summary=summary,
            history=[
                ScoredConcept(c, e.auc, e.mad, self.sources.get(c, ""))
                for c, e in self.scores.items()
            ],
        )

    def propose(self, iteration: int, summary: bool) -> Proposal:
        """Ask the proposer for a new concept; the forbidden set is enforced here as well."""
        rejected: list[str] = []
        for attempt in range(MAX_PROPOSAL_TRIES):
            proposal = self.parts.proposer.propose(self._request(iteration, summary, attempt))
            if normalise(proposal.concept) and normalise(proposal.concept) not in self.forbidden:
                proposal.rejected = [*rejected, *proposal.rejected]
                return proposal
            rejected.append(proposal.concept)
        fallback = self._lexicon_proposer().propose(self._request(iteration, summary, 99))
        fallback.rejected = [*rejected, *fallback.rejected]
        fallback.reasoning = (
            f"proposer repeated tried concepts; lexicon fallback. {fallback.reasoning}"
        )
        return fallback

    def _lexicon_proposer(self):  # noqa: ANN202 - a ConceptProposer
        if self._lexicon is None:
            self._lexicon = PROPOSERS.create(
                "lexicon", generator=self.parts.generator, seed=self.config.seed
            )
        return self._lexicon

    def _iterate(self, iteration: int, summary: bool) -> Iterator[Event]:
        yield self.emit(StageStarted(iteration=iteration, stage="propose"))
        with self._timed("propose"):
            proposal = self.propose(iteration, summary)
        source = "summary-" + proposal.source if summary else proposal.source
        yield self.emit(
            ConceptProposed(
                iteration=iteration,
                concept=proposal.concept,
                source=source,
                reasoning=proposal.reasoning,
                raw=proposal.raw,
                rejected=list(proposal.rejected),
            )
        )
        concept = proposal.concept
        if self.config.review:
            concept = yield from self.steering.review(iteration, concept)
            if concept is None:
                return
        self.forbidden.add(normalise(concept))
        [entry] = yield from self.evaluate([concept], source, iteration)
        yield from self.enter_pool(iteration, entry)

    def enter_pool(self, iteration: int, entry: PoolEntry) -> Iterator[Event]:
        """Apply the pool update rule for a newly scored concept and log it."""
        rng = random.Random(derive_seed("pool", self.config.seed, iteration, entry.concept))
        self.pool, removed = update_pool(self.pool, entry, rng, self.config.pool_size)
        yield self.emit(
            PoolUpdated(
                iteration=iteration,
                pool=[e.concept for e in self.pool],
                added=entry.concept,
                removed=removed,
            )
        )

    # -- rendering and scoring -----------------------------------------------------------
    def evaluate(
        self,
        concepts: Sequence[str],
        source: str | Sequence[str],
        iteration: int,
        n_images: int | None = None,
    ) -> Iterator[Event]:
        """Render, store, forward and score concepts (one forward pass for all); returns entries.

        ``source`` is one source for all concepts or one per concept.
        """
        sources = [source] * len(concepts) if isinstance(source, str) else list(source)
        n_images = n_images or self.config.images_per_concept
        generator = self.parts.generator
        yield self.emit(
            StageStarted(iteration=iteration, stage="generate", detail=", ".join(concepts))
        )
        rendered = []
        for concept in concepts:
            seeds = concept_seeds(concept, self.config.seed, n_images)
            started = time.perf_counter()
            with self._timed("generate"):
                images = generator.generate(concept, seeds)
            seconds = time.perf_counter() - started
            images, seeds, dropped = drop_flagged(generator, images, seeds)
            with self._timed("store"):
                paths = [self.store.save_image(img) for img in images]
            rendered.append((concept, seeds, images, paths))
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
        yield self.emit(StageStarted(iteration=iteration, stage="forward"))
        with self._timed("forward"):
            all_images = [img for _, _, images, _ in rendered for img in images]
            acts = layer_activations(
                self.parts.target, self.parts.layer, all_images, reduction=self.config.reduction
            )[:, self.parts.neuron]
        control = self.parts.control.unit(self.parts.neuron)
        entries = []
        offset = 0
        for (concept, _, images, paths), concept_source in zip(rendered, sources, strict=True):
            values = np.asarray(acts[offset : offset + len(images)], dtype=np.float64)
            offset += len(images)
            with self._timed("score"):
                score = score_activations(values, control, seed=derive_seed("boot", concept))
            entry = self._remember(concept, concept_source, score.auc, score.mad)
            entries.append(entry)
            yield self.emit(
                ConceptScored(
                    iteration=iteration,
                    concept=concept,
                    source=concept_source,
                    activations=[round(float(v), 6) for v in values],
                    images=paths,
                    **asdict(score),
                )
            )
        return entries
