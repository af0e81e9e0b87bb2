"""Layer sweeps: explain many neurons of one layer in lockstep over the layer's concept atlas.

Every neuron keeps its own loop and its own run folder (the dashboard, export and resume treat
it like any run); what the loops share is the measuring. Each round, every active loop hands in
the concepts it wants scored, the union is rendered and forwarded once (only what the atlas
lacks, in large batches), and each loop reads its unit's column from the atlas. With a built
atlas, the initial pools cost nothing either. The sweep resumes after a kill: finished neurons
are skipped, started ones resume from their last completed iteration.
"""

from __future__ import annotations

import queue
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from line_core.atlas import Atlas, open_atlas
from line_core.atlas.measure import measure_concepts
from line_core.config import ExplainConfig
from line_core.engine.door import resume, start
from line_core.engine.loop import Explainer, one_line
from line_core.engine.ray_workers import RayMeasuring, connect
from line_core.engine.rounds import RoundBatcher
from line_core.errors import ConfigError, LineError
from line_core.generators import GENERATORS, ImageGenerator
from line_core.layers import list_layers
from line_core.proposers import PROPOSERS, Proposal, ProposalRequest
from line_core.record.read import load_history
from line_core.record.sweeps import SweepRecord, list_sweeps, new_sweep, read_sweep
from line_core.targets import Target, load_target

#: Neurons explained at once by default (each is a thread waiting on the shared rounds).
DEFAULT_PARALLEL = 64
#: Images rendered and forwarded per batch when a round fills the atlas.
ROUND_BATCH = 256


def parse_neurons(spec: str, units: int, seed: int = 0) -> list[int]:
    """'0-63', 'all', 'random:50', '3,7,10-12' -> unit indices (checked against ``units``)."""
    text = (spec or "").strip().lower()
    if text == "all":
        return list(range(units))
    if text.startswith("random:"):
        try:
            count = int(text.partition(":")[2])
        except ValueError:
            count = -1
        if not 1 <= count <= units:
            raise ConfigError(f"--neurons {spec}: random:N needs 1 <= N <= {units}")
        return sorted(random.Random(seed).sample(range(units), count))
    chosen: list[int] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        low, dash, high = part.partition("-")
        try:
            first = int(low)
            last = int(high) if dash else first
        except ValueError:
            raise ConfigError(
                f"--neurons '{spec}' is not understood: use 0-63, 3,7,10-12, all or random:50"
            ) from None
        if not 0 <= first <= last < units:
            raise ConfigError(f"--neurons {part} is outside the layer's units 0..{units - 1}")
        chosen.extend(range(first, last + 1))
    if not chosen:
        raise ConfigError("--neurons is empty: use 0-63, 3,7,10-12, all or random:50")
    return list(dict.fromkeys(chosen))


@dataclass(frozen=True)
class NeuronOutcome:
    """How one neuron's run ended in this sweep."""

    neuron: int
    run_dir: str
    status: str  #: finished, skipped (already finished), failed, stopped
    label: str = ""
    auc: float = 0.0
    error: str = ""


@dataclass
class SweepReport:
    """A sweep's outcome: its folder, each neuron's outcome, and the shared measuring."""

    folder: Path
    outcomes: list[NeuronOutcome] = field(default_factory=list)
    rounds: int = 0
    largest_round: int = 0
    rendered: int = 0
    fill_seconds: float = 0.0  #: wall time the rounds spent rendering and forwarding
    propose_seconds: float = 0.0  #: CPU time of every neuron's proposals (threads summed)
    resumed: bool = False

    @property
    def failed(self) -> list[NeuronOutcome]:
        """Neurons whose run failed."""
        return [o for o in self.outcomes if o.status == "failed"]


OnOutcome = Callable[[NeuronOutcome], None]


class LayerSweep:
    """One sweep, ready to run (``run()``): its record, the shared backends and atlas."""

    def __init__(self, record: SweepRecord, target: Target, generator: ImageGenerator,
                 atlas: Atlas, resumed: bool = False, remote: RayMeasuring | None = None,
                 ) -> None:
        self.record = record
        self.target = target
        self.generator = generator
        self.atlas = atlas
        self.resumed = resumed
        self.remote = remote  #: Ray actors and tasks doing the measuring and proposing
        self._record_lock = threading.Lock()
        self._rendered = 0
        self._fill_seconds = 0.0
        self._propose_seconds = 0.0
        self.batcher = RoundBatcher(self._fill)

    # -- the shared measuring --------------------------------------------------------------
    def _fill(self, requests: list[tuple[str, list[int]]]) -> None:
        config = self.record.config
        started = time.perf_counter()
        if self.remote is not None:
            self._rendered += self.remote.fill(requests)
            self.atlas.refresh()
        else:
            results = measure_concepts(requests, self.generator, self.target,
                                       str(config.layer), config.reduction, atlas=self.atlas,
                                       batch_size=ROUND_BATCH, strict=False)
            self._rendered += sum(r.rendered for r in results)
        self._fill_seconds += time.perf_counter() - started

    # -- one neuron ------------------------------------------------------------------------
    def _explainer(self, neuron: int) -> Explainer | None:
        """A new or resumed explainer for a neuron; None when its run already finished."""
        config = self.record.config
        backends = {"target": self.target, "generator": self.generator, "atlas": self.atlas}
        run_dir = self.record.run_dir(neuron)
        if run_dir is not None and run_dir.exists():
            if load_history(run_dir).finished is not None:
                return None
            return resume(run_dir, proposer=self._proposer(), **backends)
        started = start(replace(config, neuron=neuron), proposer=self._proposer(), **backends)
        with self._record_lock:
            self.record.runs[neuron] = started.run_dir.name
            self.record.save()
        return started.explainer

    def _proposer(self) -> object:
        if self.remote is not None:
            return _TimedProposer(self.remote.proposer(), self)
        config = self.record.config
        return _TimedProposer(
            PROPOSERS.create(config.proposer, generator=self.generator, seed=config.seed), self
        )

    def add_propose_time(self, seconds: float) -> None:
        """Account one proposal's CPU time (called from every neuron's thread)."""
        with self._record_lock:
            self._propose_seconds += seconds

    def _explain(self, neuron: int) -> NeuronOutcome:
        self.batcher.join()
        run_dir = ""
        try:
            explainer = self._explainer(neuron)
            if explainer is None:
                found = self.record.run_dir(neuron)
                return _outcome(neuron, found, "skipped")
            run_dir = str(explainer.store.run_dir)
            explainer.meter.before_measure = self.batcher.ensure
            for _ in explainer.run():
                pass
            history = load_history(explainer.store.run_dir)
            word = "finished" if history.finished is not None else "stopped"
            return _outcome(neuron, explainer.store.run_dir, word)
        except LineError as exc:
            return NeuronOutcome(neuron, run_dir, "failed", error=one_line(exc))
        except Exception as exc:  # noqa: BLE001 - one neuron's failure never stops the sweep
            return NeuronOutcome(neuron, run_dir, "failed", error=one_line(exc))
        finally:
            self.batcher.leave()

    # -- the sweep -------------------------------------------------------------------------
    def run(self, on_outcome: OnOutcome | None = None) -> SweepReport:
        """Explain every neuron of the sweep (``parallel`` at a time); one outcome each."""
        lock = self.record.writer_lock().acquire()
        report = SweepReport(self.record.folder, resumed=self.resumed)
        todo: queue.Queue[int] = queue.Queue()
        for neuron in self.record.neurons:
            todo.put(neuron)
        done_lock = threading.Lock()

        def worker() -> None:
            while True:
                try:
                    neuron = todo.get_nowait()
                except queue.Empty:
                    return
                outcome = self._explain(neuron)
                with done_lock:
                    report.outcomes.append(outcome)
                    if on_outcome is not None:
                        on_outcome(outcome)

        try:
            threads = [threading.Thread(target=worker, name=f"sweep-{i}", daemon=True)
                       for i in range(max(1, min(self.record.parallel, len(self.record.neurons))))]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        finally:
            lock.release()
        report.outcomes.sort(key=lambda o: self.record.neurons.index(o.neuron))
        report.rounds = self.batcher.rounds
        report.largest_round = self.batcher.largest
        report.rendered = self._rendered
        report.fill_seconds = self._fill_seconds
        report.propose_seconds = self._propose_seconds
        return report


class _TimedProposer:
    """A neuron's proposer, its CPU time per proposal added to the sweep's account."""

    def __init__(self, inner: Any, sweep: LayerSweep) -> None:
        self.inner = inner
        self.sweep = sweep
        self.name = getattr(inner, "name", "")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def propose(self, request: ProposalRequest) -> Proposal:
        """The inner proposer's proposal."""
        started = time.thread_time()
        try:
            return self.inner.propose(request)
        finally:
            self.sweep.add_propose_time(time.thread_time() - started)


def _outcome(neuron: int, run_dir: Path | None, status: str) -> NeuronOutcome:
    if run_dir is None:
        return NeuronOutcome(neuron, "", status)
    best = load_history(run_dir).best()
    return NeuronOutcome(neuron, str(run_dir), status, best.concept if best else "",
                         best.auc if best else 0.0)


def plan_sweep(config: ExplainConfig, neurons: str, *, parallel: int = DEFAULT_PARALLEL,
               target: Target | None = None, generator: ImageGenerator | None = None,
               ray: str | None = None, ray_workers: int | None = None) -> LayerSweep:
    """Check a sweep's settings; resume the unfinished sweep with the same plan, or plan a new one.

    No neuron's run folder is created before ``run()``.
    """
    if config.review:
        raise ConfigError("a sweep cannot wait for reviews: drop --review")
    if not config.atlas:
        raise ConfigError("a sweep shares its measuring through the concept atlas: drop "
                          "--no-atlas")
    if not 1 <= parallel <= 4096:
        raise ConfigError(f"--parallel must be between 1 and 4096; got {parallel}")
    target = target or load_target(config.model)
    layer = config.layer or target.default_layer
    units = list_layers(target).get(str(layer)) if layer else None
    if units is None:
        raise ConfigError(f"model '{target.name}' has no layer '{layer}' "
                          f"(see `line layers {config.model}`)")
    config = replace(config, layer=layer, neuron=None)
    chosen = parse_neurons(neurons, units, config.seed)
    generator = generator or GENERATORS.create(config.generator)
    atlas = open_atlas(target, str(layer), generator, config.reduction)
    remote = _remote(config, atlas, ray, ray_workers)
    for record in reversed(list_sweeps(config.runs_dir)):
        if record.same_plan(config, chosen) and not _all_finished(record):
            record.parallel = parallel
            return LayerSweep(record, target, generator, atlas, resumed=True, remote=remote)
    return LayerSweep(new_sweep(config, chosen, parallel), target, generator, atlas,
                      remote=remote)


def _remote(config: ExplainConfig, atlas: Atlas, ray: str | None,
            workers: int | None) -> RayMeasuring | None:
    """Ray actors for the sweep's measuring when ``ray`` names a cluster ('local' for one)."""
    if ray is None:
        return None
    connect(ray)
    return RayMeasuring(config, atlas, workers)


def resume_sweep(folder: Path | str, *, parallel: int | None = None, ray: str | None = None,
                 ray_workers: int | None = None) -> LayerSweep:
    """Continue a sweep from its folder (finished neurons are skipped)."""
    record = read_sweep(folder)
    if parallel is not None:
        record.parallel = parallel
    target = load_target(record.config.model)
    generator = GENERATORS.create(record.config.generator)
    atlas = open_atlas(target, str(record.config.layer), generator, record.config.reduction)
    return LayerSweep(record, target, generator, atlas, resumed=True,
                      remote=_remote(record.config, atlas, ray, ray_workers))


def _all_finished(record: SweepRecord) -> bool:
    for neuron in record.neurons:
        run_dir = record.run_dir(neuron)
        if run_dir is None or not run_dir.exists():
            return False
        try:
            if load_history(run_dir).finished is None:
                return False
        except LineError:
            return False
    return True
