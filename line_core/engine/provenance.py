"""A new run's manifest: config, backends, control, seeds, package versions, git revision."""

from __future__ import annotations

import platform
import subprocess
import sys
import time
from dataclasses import replace
from importlib import metadata
from pathlib import Path

from line_core.config import ExplainConfig
from line_core.engine.atlas import summary
from line_core.engine.components import Components
from line_core.record.manifest import ControlInfo, Manifest

PACKAGES = ("line-explain", "torch", "torchvision", "numpy", "transformers", "diffusers", "timm")


def package_versions() -> dict[str, str]:
    """Installed versions of the packages that shape a run's results."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def git_revision() -> str:
    """The source tree's git revision ('unknown' outside a checkout)."""
    root = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def build_manifest(config: ExplainConfig, parts: Components) -> Manifest:
    """The manifest of a new run (layer and unit resolved to the model's defaults)."""
    return Manifest(
        config=replace(config, layer=parts.layer, neuron=parts.neuron),
        created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        backends={
            "model": {"name": parts.target.name, "description": parts.target.description},
            "generator": {
                "name": parts.generator.name,
                "kind": parts.generator.kind,
                "description": parts.generator.describe(),
            },
            "proposer": {"name": getattr(parts.proposer, "name", config.proposer)},
        },
        control=ControlInfo(
            description=parts.control.description,
            size=int(parts.control.activations.shape[0]),
            skipped=parts.control.skipped,
            activations=[round(float(v), 6) for v in parts.control.unit(parts.neuron)],
            refs=list(parts.control.refs),
            labels=list(parts.control.labels) if parts.control.labels else None,
        ),
        seeds={"run": config.seed},
        atlas=summary(parts.atlas).to_dict() if parts.atlas is not None else {},
        packages=package_versions(),
        python=sys.version.split()[0],
        platform=platform.platform(),
        git_revision=git_revision(),
    )
