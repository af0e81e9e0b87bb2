"""The LINE algorithm as an iterator of events, written to the run record as they happen.

Iteration 0 scores the initial pool (control classes: top 5 + 5 random; with a built concept
atlas for the layer, the unit's 20 top atlas concepts plus 10 random others, at no rendering
cost; otherwise the generator's seed vocabulary), and the pool keeps the top 5 + 5 random.
Iterations 1..K each propose one new concept, render it, score it against the control set and
update the pool; a share of them (``probe_share``, inside K) scores driver-separating probes
instead once the best concept is clear (see ``line_core.engine.probes``). Iteration K+1
(summary) asks for one concept generalising the top 3. A resumed run rebuilds its state from the
history and continues after the last completed iteration. The loop holds the run's writer lock
while it runs and records a ``RunFailed`` event, with the reason, on any failure.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np

from line_core.analysis.image_colours import run_colour_hints
from line_core.atlas import Atlas
from line_core.atlas.build import is_built
from line_core.atlas.ranking import rank_concepts
from line_core.concepts import ScoredConcept, Source
from line_core.config import ExplainConfig
from line_core.engine.components import Components
from line_core.engine.measure import ConceptMeter
from line_core.engine.pool import derive_seed, sort_pool, update_pool
from line_core.engine.probes import (
    CLEAR_AUC,
    Probe,
    is_probe_iteration,
    plan_probes,
    probe_quota,
)
from line_core.engine.state import LoopState
from line_core.engine.steering import (
    BanConcept,
    Request,
    ScoreConcepts,
    StopRun,
    plan,
    review_choice,
)
from line_core.errors import LineError
from line_core.proposers import Proposal, ProposalRequest
from line_core.record.commands import Accept, Command
from line_core.record.events import (
    ConceptProposed,
    Event,
    IterationDone,
    PoolUpdated,
    RunFailed,
    RunFinished,
    RunResumed,
    RunStarted,
    StageStarted,
    UserAction,
)
from line_core.record.history import build_history
from line_core.record.store import BadLine, RunStore
from line_core.record.tables import tables_current, write_history_tables

RANDOM_INITIAL = 5
TOP_INITIAL = 5
#: With a built atlas, iteration 0 scores the unit's top concepts of it plus random others.
ATLAS_TOP = 20
#: Stages every iteration reports (0 s when the atlas held every image).
MEASURING_STAGES = ("generate", "forward", "score", "store")
ATLAS_RANDOM = 10
MAX_PROPOSAL_TRIES = 3
REVIEW_POLL_SECONDS = 0.25


def one_line(exc: BaseException) -> str:
    """An exception as one line for a ``RunFailed`` event."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if isinstance(exc, LineError) else f"{type(exc).__name__}: {text}"


class Explainer:
    """Runs (or resumes) one explanation; iterate ``run()`` to drive it.

    ``store`` must hold the run's writer lock (the engine's door takes it); ``run()`` gives it
    back when it ends.
    """

    def __init__(self, config: ExplainConfig, parts: Components, store: RunStore) -> None:
        self.config = config
        self.parts = parts
        self.store = store
        self.repaired: list[BadLine] = store.repair()
        history = build_history(store.events())
        self.resuming = history.started is not None
        self.already_finished = history.finished is not None
        self.start_iteration = history.last_completed_iteration + 1
        self.state = LoopState.from_history(history)
        self.timings: dict[str, float] = {}
        self.iteration = self.start_iteration
        self.meter = ConceptMeter(parts, config.seed, config.reduction, store, self.emit,
                                  self._timed)

    @property
    def final_iteration(self) -> int:
        """Index of the last iteration (the summary one when enabled)."""
        return self.config.last_iteration

    def best(self) -> ScoredConcept | None:
        """Best concept tried so far (banned ones excluded)."""
        return self.state.best()

    # -- events --------------------------------------------------------------------------
    def emit(self, event: Event) -> Event:
        """Write an event to the record (the loop's only output) and return it."""
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
        """Drive the run to its end (or a researcher's stop), yielding every event.

        Any failure is recorded as ``RunFailed`` with its reason before it propagates; an
        interrupt (Ctrl-C, SIGTERM) is not a failure: the run resumes where it stopped.
        """
        try:
            yield from self._run()
        except LineError as exc:
            self._record_failure(exc)
            raise
        except (KeyboardInterrupt, GeneratorExit):
            raise
        except Exception as exc:
            self._record_failure(exc)
            raise
        finally:
            self.store.lock.release()

    def _record_failure(self, exc: BaseException) -> None:
        try:
            self.emit(RunFailed(message=one_line(exc)[:500], iteration=self.iteration))
        except (OSError, ValueError):
            pass  # the disk itself failed: the original error is what the user needs

    def _run(self) -> Iterator[Event]:
        if self.already_finished and not self._pending():
            if not tables_current(self.store.run_dir):
                write_history_tables(self.store.run_dir, build_history(self.store.events()))
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
            yield from self.handle_commands(self.final_iteration)
        for iteration in range(self.start_iteration, self.final_iteration + 1):
            self.iteration = iteration
            self.timings = dict.fromkeys(MEASURING_STAGES, 0.0)  # 0: all from the atlas
            began = time.perf_counter()
            if iteration > 0:  # commands wait until the initial pool exists
                yield from self.handle_commands(iteration)
            if self.state.stopped:
                return
            probes = self._planned_probes(iteration)
            if iteration == 0:
                yield from self._initial_pool()
            elif probes:
                yield from self._probe(iteration, probes)
            else:
                yield from self._iterate(iteration, summary=iteration > self.config.iterations)
            if self.state.stopped:
                return
            yield from self.handle_commands(iteration)
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
        yield from self.handle_commands(self.final_iteration)  # posted at the very end
        if self.state.stopped:
            return
        best = self.best()
        yield self.emit(
            RunFinished(
                label=best.concept if best else "",
                auc=best.auc if best else 0.0,
                mad=best.mad if best else 0.0,
                seconds=build_history(self.store.events()).worked_seconds,  # all sessions
            )
        )
        write_history_tables(self.store.run_dir, build_history(self.store.events()))

    # -- researcher commands -------------------------------------------------------------
    def _pending(self) -> list[Command]:
        return [c for c in self.store.commands() if c.id not in self.state.handled]

    def _answer(self, iteration: int, command: Command, action: str, concept: str,
                detail: str, original: str = "", original_source: str = "") -> Event:
        self.state.handled.add(command.id)
        return self.emit(
            UserAction(iteration=iteration, action=action, concept=concept, detail=detail,
                       command_id=command.id, original=original,
                       original_source=original_source)
        )

    def handle_commands(self, iteration: int) -> Iterator[Event]:
        """Apply every pending command (except review answers, which ``review`` takes)."""
        for command in self._pending():
            if isinstance(command, Accept):
                continue
            yield from self._apply(iteration, command)
            if self.state.stopped:
                return

    def _apply(self, iteration: int, command: Command) -> Iterator[Event]:
        steps = plan(command, self.state, self.config.images_per_concept)
        yield self._answer(iteration, command, steps.action, steps.concept, steps.detail,
                           steps.original, steps.original_source)
        for request in steps.requests:
            yield from self._carry_out(iteration, request)

    def _carry_out(self, iteration: int, request: Request) -> Iterator[Event]:
        if isinstance(request, StopRun):
            self.state.stopped = True
        elif isinstance(request, BanConcept):
            if self.state.ban(request.concept):
                yield self._pool_event(iteration, added="", removed=request.concept)
        elif isinstance(request, ScoreConcepts):
            entries = yield from self.evaluate(
                request.concepts, request.source, iteration, n_images=request.n_images
            )
            for entry in entries:
                if request.refresh:
                    if self.state.refresh_in_pool(entry):
                        yield self._pool_event(iteration, added=entry.concept, removed=None)
                    continue
                if request.replaces is not None:
                    self.state.drop_from_pool(request.replaces)
                yield from self.enter_pool(iteration, entry)

    def _pool_event(self, iteration: int, added: str, removed: str | None) -> Event:
        return self.emit(
            PoolUpdated(iteration=iteration, pool=[e.concept for e in self.state.pool],
                        added=added, removed=removed)
        )

    def review(self, iteration: int, concept: str, source: str) -> Iterator[Event]:
        """Wait for the researcher to accept (possibly edit) a proposed concept.

        Returns (concept, source) to score, or None when the run was stopped meanwhile.
        """
        yield self.emit(StageStarted(iteration=iteration, stage="review", detail=concept))
        while True:
            for command in self._pending():
                if isinstance(command, Accept):
                    choice = review_choice(command, concept, source)
                    yield self._answer(iteration, command, "accept", choice.concept,
                                       choice.detail, choice.original, choice.original_source)
                    return choice.concept, choice.source
                yield from self._apply(iteration, command)
                if self.state.stopped:
                    return None
            time.sleep(REVIEW_POLL_SECONDS)

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
            return [(c, Source.CONTROL_CLASS) for c in ranked[:TOP_INITIAL]] + [
                (c, Source.RANDOM_CLASS) for c in randoms
            ]
        atlas = self.parts.atlas
        if atlas is not None and is_built(atlas):
            return self._atlas_candidates(atlas, rng)
        vocabulary = list(dict.fromkeys(self.parts.generator.seed_concepts()))
        return [(c, Source.SEED) for c in vocabulary if not self.state.is_banned(c)]

    def _atlas_candidates(self, atlas: Atlas, rng: random.Random) -> list[tuple[str, str]]:
        """The unit's top concepts of the layer's atlas plus random others (chance baseline).

        The atlas was rendered with the run's seeds, so scoring these costs no rendering.
        """
        ranked = [r.concept for r in rank_concepts(atlas, self.parts.neuron,
                                                   self.parts.control.unit(self.parts.neuron))
                  if not self.state.is_banned(r.concept)]
        top, rest = ranked[:ATLAS_TOP], ranked[ATLAS_TOP:]
        randoms = rng.sample(rest, min(ATLAS_RANDOM, len(rest)))
        return [(c, Source.ATLAS) for c in top] + [(c, Source.RANDOM_ATLAS) for c in randoms]

    def _initial_pool(self) -> Iterator[Event]:
        candidates = self._initial_candidates()
        for concept, source in candidates:
            yield self.emit(
                ConceptProposed(iteration=0, concept=concept, source=source, reasoning=source)
            )
        concepts = [c for c, _ in candidates]
        scored = yield from self.evaluate(concepts, [s for _, s in candidates], iteration=0)
        if candidates and candidates[0][1] in (Source.SEED, Source.ATLAS):  # top 5 + 5 random
            ranked = sort_pool(scored)
            rng = random.Random(derive_seed("initial-random", self.config.seed))
            rest = ranked[TOP_INITIAL:]
            chosen = ranked[:TOP_INITIAL] + rng.sample(rest, min(RANDOM_INITIAL, len(rest)))
        else:
            chosen = scored
        self.state.pool = sort_pool(chosen)[: self.config.pool_size]
        yield self._pool_event(0, added="", removed=None)

    # -- iterations 1..K+1 ---------------------------------------------------------------
    def _request(self, iteration: int, summary: bool, attempt: int) -> ProposalRequest:
        pool = sort_pool(self.state.pool)
        return ProposalRequest(
            pool=pool[:3] if summary else pool,
            forbidden=set(self.state.forbidden),
            iteration=iteration,
            seed=derive_seed("propose", self.config.seed, iteration, attempt),
            generator_description=self.parts.generator.describe(),
            summary=summary,
            history=list(self.state.scores.values()),
        )

    def propose(self, iteration: int, summary: bool) -> Proposal:
        """Ask the proposer for a new concept; the forbidden set is enforced here as well."""
        rejected: list[str] = []
        for attempt in range(MAX_PROPOSAL_TRIES):
            proposal = self.parts.proposer.propose(self._request(iteration, summary, attempt))
            if self.state.is_new(proposal.concept):
                proposal.rejected = [*rejected, *proposal.rejected]
                return proposal
            rejected.append(proposal.concept)
        fallback = self.parts.fallback.propose(self._request(iteration, summary, 99))
        fallback.rejected = [*rejected, *fallback.rejected]
        fallback.reasoning = (
            f"proposer repeated tried concepts; {fallback.source} fallback. {fallback.reasoning}"
        )
        return fallback

    def _iterate(self, iteration: int, summary: bool) -> Iterator[Event]:
        yield self.emit(StageStarted(iteration=iteration, stage="propose"))
        with self._timed("propose"):
            proposal = self.propose(iteration, summary)
        source = Source.summary(proposal.source) if summary else proposal.source
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
            choice = yield from self.review(iteration, concept, source)
            if choice is None:
                return
            concept, source = choice
        self.state.forbid(concept)
        [entry] = yield from self.evaluate([concept], source, iteration)
        yield from self.enter_pool(iteration, entry)

    # -- driver-separating probes ----------------------------------------------------------
    def _planned_probes(self, iteration: int) -> list[Probe]:
        """The probes to score in this iteration (empty: a proposal iteration)."""
        total = self.config.iterations
        if not 1 <= iteration <= total:
            return []
        best = self.best()
        turn = is_probe_iteration(
            iteration,
            total,
            probe_quota(total, self.config.probe_share),
            len(self.state.probe_iterations),
            last_was_probe=iteration - 1 in self.state.probe_iterations,
            clear=best is not None and best.auc >= CLEAR_AUC,
        )
        if not turn:
            return []
        with self._timed("propose"):
            scores = {c: s for c, s in self.state.scores.items() if not self.state.is_banned(c)}
            control = self.parts.control.unit(self.parts.neuron)
            baseline = float(np.mean(control)) if len(control) else 0.0
            hints = run_colour_hints(list(scores.values()), self.store.run_dir, baseline)
            return plan_probes(
                scores,
                baseline,
                self.parts.generator.vocabulary(),
                self.state.is_new,
                derive_seed("probe", self.config.seed, iteration),
                colours=[hint.family for hint in hints],
            )

    def _probe(self, iteration: int, probes: Sequence[Probe]) -> Iterator[Event]:
        """Score a batch of probes (one forward pass); they enter the pool like proposals."""
        yield self.emit(StageStarted(iteration=iteration, stage="propose", detail="probes"))
        self.state.probe_iterations.add(iteration)
        for probe in probes:
            yield self.emit(
                ConceptProposed(
                    iteration=iteration, concept=probe.concept, source=Source.PROBE,
                    reasoning=f"probe: {probe.reason}",
                )
            )
            self.state.forbid(probe.concept)
        entries = yield from self.evaluate([p.concept for p in probes], Source.PROBE, iteration)
        for entry in entries:
            yield from self.enter_pool(iteration, entry)

    def enter_pool(self, iteration: int, entry: ScoredConcept) -> Iterator[Event]:
        """Apply the pool update rule for a newly scored concept and log it."""
        if self.state.is_banned(entry.concept):
            return
        rng = random.Random(derive_seed("pool", self.config.seed, iteration, entry.concept))
        self.state.pool, removed = update_pool(
            self.state.pool, entry, rng, self.config.pool_size
        )
        yield self._pool_event(iteration, added=entry.concept, removed=removed)

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
        records = yield from self.meter.measure(
            concepts, sources, iteration, n_images or self.config.images_per_concept
        )
        return [self.state.remember(record) for record in records]
