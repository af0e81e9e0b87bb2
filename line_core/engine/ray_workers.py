"""Ray for sweeps that outgrow one machine: rendering and forwards on actors, proposals as tasks.

Each measuring actor loads one generator and one target model (one actor per GPU when the
cluster has GPUs) and writes into the layer's atlas, which must live on a file system every node
sees (``LINE_ATLAS_DIR``). The sweep's driver keeps every neuron's loop and run folder; a round
hands its de-duplicated requests to the actors, then reads the rows from the shared atlas.
Proposals run as Ray tasks (a served LLM then answers many neurons at once). An actor whose
model or generator differs from the driver's (another version, other weights) refuses to start,
so no node can write rows under the wrong key. Ray is an optional extra
(``pip install 'line-explain[ray]'``); nothing here imports it before it is asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from line_core.atlas import Atlas, AtlasKey
from line_core.atlas.measure import measure_concepts
from line_core.config import ExplainConfig
from line_core.errors import ConfigError
from line_core.generators import GENERATORS
from line_core.proposers import PROPOSERS, Proposal, ProposalRequest
from line_core.targets import load_target

_PROPOSERS: dict[tuple[str, str, int], Any] = {}  # per worker process: built once


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError("--ray needs Ray: pip install 'line-explain[ray]' (or 'ray')") from None
    return ray


def connect(address: str | None = None, num_cpus: int | None = None) -> None:
    """Join the Ray cluster at ``address`` ('auto', 'ray://host:10001'), or start a local one."""
    ray = _ray()
    if ray.is_initialized():
        return
    local = address in (None, "", "local")
    try:
        ray.init(address=None if local else address, num_cpus=num_cpus if local else None,
                 include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ConfigError(f"cannot reach the Ray cluster at '{address}': {exc}") from None


class _Measurer:
    """A Ray actor's body: one generator and one target model, writing into the atlas."""

    def __init__(self, model: str, generator: str, layer: str, reduction: str, root: str,
                 digest: str) -> None:
        self.target = load_target(model)
        self.generator = GENERATORS.create(generator)
        self.layer = layer
        self.reduction = reduction
        key = AtlasKey.of(self.target, layer, self.generator, reduction)
        if key.digest != digest:
            raise ConfigError(
                f"this node's {model} or {generator} differs from the driver's (atlas key "
                f"{key.digest} vs {digest}): install the same versions and weights everywhere"
            )
        self.atlas = Atlas.open(key, root=Path(root))

    def measure(self, requests: list[tuple[str, list[int]]]) -> int:
        """Render and forward what the atlas lacks; how many images were rendered."""
        results = measure_concepts(requests, self.generator, self.target, self.layer,
                                   self.reduction, atlas=self.atlas, strict=False)
        return sum(r.rendered for r in results)


def _propose(spec: str, generator: str, seed: int, request: ProposalRequest) -> Proposal:
    """A Ray task's body: the proposer (built once per worker) answers one request."""
    key = (spec, generator, seed)
    if key not in _PROPOSERS:
        _PROPOSERS[key] = PROPOSERS.create(spec, generator=GENERATORS.create(generator), seed=seed)
    return _PROPOSERS[key].propose(request)


class RayMeasuring:
    """The sweep's rounds on Ray actors (``fill``) and its proposals as Ray tasks."""

    def __init__(self, config: ExplainConfig, atlas: Atlas, workers: int | None = None) -> None:
        ray = _ray()
        self.ray = ray
        gpus = int(ray.cluster_resources().get("GPU", 0))
        count = workers or max(1, gpus)
        actor = ray.remote(num_cpus=0 if gpus else 1, num_gpus=1 if gpus else 0)(_Measurer)
        self.actors = [
            actor.remote(config.model, config.generator, str(config.layer), config.reduction,
                         str(atlas.folder.parent), atlas.key.digest)
            for _ in range(count)
        ]
        self.config = config
        self._propose = ray.remote(num_cpus=0)(_propose)

    def fill(self, requests: Sequence[tuple[str, list[int]]]) -> int:
        """Spread a round's requests over the actors (by concept); images rendered."""
        chunks: list[list[tuple[str, list[int]]]] = [[] for _ in self.actors]
        for index, request in enumerate(requests):
            chunks[index % len(chunks)].append((request[0], list(request[1])))
        futures = [a.measure.remote(c) for a, c in zip(self.actors, chunks, strict=True) if c]
        try:
            return int(sum(self.ray.get(futures)))
        except self.ray.exceptions.RayError as exc:
            cause = getattr(exc, "cause", None) or exc
            raise ConfigError(f"a Ray measuring actor failed: {cause}") from None

    def propose(self, request: ProposalRequest) -> Proposal:
        """The configured proposer's answer, computed by a Ray task."""
        config = self.config
        return self.ray.get(self._propose.remote(config.proposer, config.generator, config.seed,
                                                 request))

    def proposer(self) -> RemoteProposer:
        """A proposer whose every proposal runs as a Ray task."""
        return RemoteProposer(self)


class RemoteProposer:
    """Proposes through a Ray task (same answers as the proposer itself, elsewhere)."""

    def __init__(self, measuring: RayMeasuring) -> None:
        self.measuring = measuring
        self.name = measuring.config.proposer

    def propose(self, request: ProposalRequest) -> Proposal:
        """The proposal of a Ray task running the configured proposer."""
        return self.measuring.propose(request)
