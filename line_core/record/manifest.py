"""The typed manifest of a run: its config, backends, control set, seeds and provenance."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from line_core.config import ExplainConfig
from line_core.errors import RunStoreError

FORMAT = 2


@dataclass
class ControlInfo:
    """The control set a run scored against, with the unit's activations on it.

    ``refs`` names each control image in order (a prompt, or a file path for a folder), and
    ``labels`` its class when the folder has class subfolders.
    """

    description: str = ""
    size: int = 0
    skipped: int = 0
    activations: list[float] = field(default_factory=list)
    refs: list[str] = field(default_factory=list)
    labels: list[str] | None = None


@dataclass
class Manifest:
    """What a run was started with. Written once when the run is created, atomically."""

    config: ExplainConfig
    created: str = ""
    format: int = FORMAT
    backends: dict[str, dict[str, str]] = field(default_factory=dict)
    control: ControlInfo = field(default_factory=ControlInfo)
    seeds: dict[str, int] = field(default_factory=dict)
    #: The concept atlas the run measured through (folder, digest, concepts, built,
    #: vocabulary); empty with ``--no-atlas``.
    atlas: dict[str, Any] = field(default_factory=dict)
    packages: dict[str, str] = field(default_factory=dict)
    python: str = ""
    platform: str = ""
    git_revision: str = ""

    @property
    def layer(self) -> str:
        """The explained layer (resolved when the run was created)."""
        return str(self.config.layer or "")

    @property
    def neuron(self) -> int:
        """The explained unit (resolved when the run was created)."""
        return int(self.config.neuron if self.config.neuron is not None else -1)

    @property
    def planned_iterations(self) -> int:
        """Iterations the run will do: the initial pool, K proposals and the summary."""
        return 1 + self.config.last_iteration

    def backend_name(self, role: str) -> str:
        """The name of the model / generator / proposer backend (config spec when unknown)."""
        name = self.backends.get(role, {}).get("name")
        if name:
            return str(name)
        fallback = {"model": self.config.model, "generator": self.config.generator,
                    "proposer": self.config.proposer}
        return str(fallback.get(role, "?"))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (the file's content)."""
        data = asdict(self)
        data["config"] = self.config.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Any, where: str = "manifest") -> Manifest:
        """Rebuild from a manifest file's content; RunStoreError if it is not a LINE manifest."""
        if not isinstance(data, dict) or not isinstance(data.get("config"), dict):
            raise RunStoreError(f"{where} is not a LINE manifest (no 'config')")
        names = {f.name for f in fields(cls)}
        kept = {k: v for k, v in data.items() if k in names}
        kept["config"] = ExplainConfig.from_dict(data["config"])
        control = data.get("control")
        control_names = {f.name for f in fields(ControlInfo)}
        kept["control"] = ControlInfo(
            **{k: v for k, v in (control or {}).items() if k in control_names}
        )
        try:
            return cls(**kept)
        except TypeError as exc:
            raise RunStoreError(f"{where} is not a LINE manifest ({exc})") from None
