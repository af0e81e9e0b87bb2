"""The engine's door to concept atlases: build one for a layer, say what exists, keep them small.

The CLI (``line atlas build|stats|prune``) and the dashboard's setup call these functions.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from line_core.atlas import Atlas, atlas_root, open_atlas
from line_core.atlas.build import BuildReport, Progress, build_atlas, is_built
from line_core.atlas.upkeep import AtlasStats, atlas_stats, clean, compact, list_atlases
from line_core.atlas.upkeep import prune as prune_atlases
from line_core.atlas.vocabulary import resolve_vocabulary
from line_core.config import LIMITS
from line_core.errors import ConfigError, RunLockedError
from line_core.generators import GENERATORS, ImageGenerator
from line_core.layers import check_unit
from line_core.record.lock import WriterLock, live_writer
from line_core.targets import Target, load_target


@dataclass(frozen=True)
class AtlasSummary:
    """What a layer's atlas holds, for a manifest and the dashboard's setup."""

    folder: str
    digest: str
    concepts: int
    built: bool
    vocabulary: str
    building: str = ""  #: who is building it now ("" when nobody is)

    def to_dict(self) -> dict[str, object]:
        """A JSON-able dict (a run's manifest records it)."""
        return {"folder": self.folder, "digest": self.digest, "concepts": self.concepts,
                "built": self.built, "vocabulary": self.vocabulary}


def summary(atlas: Atlas) -> AtlasSummary:
    """The atlas's folder, size in concepts, and whether (and with what) it was built."""
    builds = atlas.builds()
    builder = live_writer(atlas.folder)
    return AtlasSummary(
        folder=str(atlas.folder),
        digest=atlas.key.digest,
        concepts=len(atlas.concepts()),
        built=is_built(atlas),
        vocabulary=str(builds[-1].get("vocabulary", "")) if builds else "",
        building=builder.describe() if builder is not None else "",
    )


def layer_atlas(model: Target, layer: str, image_generator: ImageGenerator,
                reduction: str = "auto") -> Atlas:
    """A layer's atlas as a generator renders it (opened, empty if new); see :func:`summary`."""
    return open_atlas(model, layer, image_generator, reduction)


@dataclass(frozen=True)
class Built:
    """A finished atlas build: the atlas, what was rendered, and the vocabulary used."""

    atlas: Atlas
    report: BuildReport
    vocabulary: str


def build(
    model: str | Target,
    layer: str,
    generator: str | ImageGenerator = "procedural",
    vocabulary: str | None = None,
    *,
    images_per_concept: int = 5,
    seed: int = 42,
    reduction: str = "auto",
    progress: Progress | None = None,
) -> Built:
    """Render a vocabulary once for a layer (only what the atlas lacks); see ``atlas.build``."""
    low, high, why = LIMITS["images_per_concept"]
    if not low <= images_per_concept <= high:
        raise ConfigError(f"--images-per-concept must be between {low} and {high} ({why}); "
                          f"got {images_per_concept}")
    target = model if isinstance(model, Target) else load_target(model)
    check_unit(target, layer, 0)
    image_generator = (generator if not isinstance(generator, str)
                       else GENERATORS.create(generator))
    description, concepts = resolve_vocabulary(vocabulary, image_generator)
    atlas = open_atlas(target, layer, image_generator, reduction)
    try:
        lock = WriterLock(atlas.folder).acquire(patience_s=0.5)
    except RunLockedError:
        holder = live_writer(atlas.folder)
        who = holder.describe() if holder is not None else "another process"
        raise ConfigError(f"the atlas of {target.name} / {layer} is being built by {who}; "
                          "wait for it to finish") from None
    try:
        report = build_atlas(atlas, target, layer, image_generator, concepts,
                             description=description, images_per_concept=images_per_concept,
                             seed=seed, reduction=reduction, progress=progress)
        compact(atlas)
    finally:
        lock.release()
    return Built(atlas, report, description)


def build_in_background(model: str, layer: str, generator: str = "procedural",
                        vocabulary: str | None = None, *, images_per_concept: int = 5,
                        seed: int = 42, reduction: str = "auto", log: Path | None = None) -> int:
    """Start ``line atlas build`` in a detached process (the dashboard's button); its pid.

    Its output goes to ``log`` (default: ``build.log`` in the atlas root); whether it is still
    building shows in :func:`summary` (``building``).
    """
    command = [sys.executable, "-m", "line_core.cli", "atlas", "build", "--model", model,
               "--layer", layer, "--generator", generator, "--images-per-concept",
               str(images_per_concept), "--seed", str(seed), "--reduction", reduction, "--json"]
    if vocabulary:
        command += ["--vocabulary", vocabulary]
    path = log or atlas_root() / "build.log"
    with open(path, "ab") as handle:
        process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True,
                                   env={**os.environ, "PYTHONUNBUFFERED": "1"})
    return process.pid


def stats(root: Path | None = None) -> list[AtlasStats]:
    """Every atlas with its counts and size."""
    return [atlas_stats(a) for a in list_atlases(root)]


def prune(max_bytes: int | None = None, older_than_days: float | None = None,
          root: Path | None = None) -> tuple[list[Path], int]:
    """Remove whole atlases over a size or age limit, then tidy what remains.

    Tidying removes killed writers' leftovers and compacts small shards. Returns (removed
    atlas folders, leftover files removed).
    """
    removed = prune_atlases(root, max_bytes=max_bytes, older_than_days=older_than_days)
    cleaned = 0
    for atlas in list_atlases(root):
        cleaned += clean(atlas)
        compact(atlas)
    return removed, cleaned
