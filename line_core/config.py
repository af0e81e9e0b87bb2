"""The configuration of one explanation run (a plain dataclass, stored in the manifest)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

DEFAULT_MODEL = "efficientnet_lite0"
DEFAULT_GENERATOR = "procedural"
#: Chosen by benchmarks/offline_loop.py (planted-neuron recovery); see the README.
DEFAULT_PROPOSER = "lexicon"
#: Share of the proposal iterations the loop spends on driver-separating probes (README).
DEFAULT_PROBE_SHARE = 0.3


#: (lowest, highest, why) of every count a user sets; checked before anything is written.
LIMITS: dict[str, tuple[int, int, str]] = {
    "iterations": (0, 1000, "a run of more iterations is a sweep, not one explanation"),
    "images_per_concept": (2, 500, "a score needs a spread; more images belong in evaluation"),
    "control_size": (10, 100_000, "the control set scores every concept"),
    "pool_size": (2, 100, "the proposer sees the whole pool"),
    "seed": (0, 2**31 - 1, "seeds are 31-bit"),
}


@dataclass
class ExplainConfig:
    """Everything that determines a run. ``layer``/``neuron`` None means the model's default."""

    model: str = DEFAULT_MODEL
    layer: str | None = None
    neuron: int | None = None
    generator: str = DEFAULT_GENERATOR
    proposer: str = DEFAULT_PROPOSER
    control: str = "generator"
    control_size: int = 60
    iterations: int = 10
    images_per_concept: int = 5
    pool_size: int = 10
    seed: int = 42
    reduction: str = "auto"
    summary: bool = True
    #: Share of the K proposal iterations spent on probes (inside K, not added to it).
    probe_share: float = DEFAULT_PROBE_SHARE
    atlas: bool = True  #: measure through the layer's concept atlas (False: --no-atlas)
    review: bool = False
    runs_dir: str = "runs"

    @property
    def last_iteration(self) -> int:
        """Index of the run's last iteration: K proposals, then the summary when enabled."""
        return self.iterations + (1 if self.summary else 0)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExplainConfig:
        """Rebuild from a manifest's config; unknown keys are ignored."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})
