"""Keeping atlases in shape: what they hold, leftovers of killed writers, compaction, size limits.

Everything here is safe while other processes use the atlases: leftovers are removed only when
older than :data:`LEFTOVER_AGE` (a live writer's temporary file is seconds old), compaction
writes the merged shard before it removes the shards it replaces (a reader holding an old
shard's rows keeps them, and one that finds it gone re-reads the index), and pruning removes
the least recently used atlases first.
"""

from __future__ import annotations

import fcntl
import math
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from line_core.atlas.store import (
    IMAGES,
    KEY_FILE,
    SHARDS,
    USED_FILE,
    Atlas,
    AtlasEntry,
    atlas_root,
)
from line_core.errors import ConfigError

#: Temporary files and rows without an index older than this are a killed writer's leftovers.
LEFTOVER_AGE = 3600.0
#: Compaction merges small shards once an atlas has more than this many of them.
COMPACT_ABOVE = 64
#: Shards with fewer rows than this count as small (a run's iteration, a build's chunk).
SMALL_SHARD = 4096


@dataclass
class AtlasStats:
    """What one atlas holds and what it costs on disk."""

    folder: Path
    title: str
    concepts: int
    images: int
    units: int
    shards: int
    bytes: int
    leftovers: int
    corrupt: int
    last_used: float
    builds: list[dict[str, object]] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """A JSON-able dict (``line atlas stats --json``)."""
        return {
            "folder": str(self.folder), "title": self.title, "concepts": self.concepts,
            "images": self.images, "units": self.units, "shards": self.shards,
            "bytes": self.bytes, "leftovers": self.leftovers, "corrupt": self.corrupt,
            "last_used": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(self.last_used)),
            "builds": self.builds,
        }


def list_atlases(root: Path | None = None) -> list[Atlas]:
    """Every atlas under ``root`` (folders with a readable key), in name order."""
    base = root or atlas_root()
    found = []
    for folder in sorted(p for p in base.iterdir() if p.is_dir()):
        if (folder / KEY_FILE).exists():
            try:
                found.append(Atlas.at(folder))
            except ConfigError:
                continue
    return found


def folder_bytes(folder: Path) -> int:
    """Bytes of every file under a folder (hard-linked images count once per atlas)."""
    total = 0
    for dirpath, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                continue
    return total


def _leftovers(atlas: Atlas, age: float) -> list[Path]:
    now = time.time()
    shards = atlas.folder / SHARDS
    found = []
    candidates = [*shards.iterdir(), *(atlas.folder / IMAGES).rglob(".*.tmp"),
                  *atlas.folder.glob(".*.tmp")]
    for path in candidates:
        name = path.name
        orphan_rows = name.endswith(".npy") and not path.with_suffix(".json").exists()
        temporary = name.startswith(".") and name.endswith((".tmp", ".npy"))
        if not (orphan_rows or temporary):
            continue
        try:
            if now - path.stat().st_mtime >= age:
                found.append(path)
        except OSError:
            continue
    return found


def atlas_stats(atlas: Atlas) -> AtlasStats:
    """Counts and sizes of one atlas."""
    atlas.refresh()
    concepts, owner, _ = atlas.table()
    shards = atlas.folder / SHARDS
    try:
        last_used = (atlas.folder / USED_FILE).stat().st_mtime
    except OSError:
        last_used = 0.0
    return AtlasStats(
        folder=atlas.folder,
        title=atlas.key.title,
        concepts=len(concepts),
        images=int(owner.size),
        units=atlas.units,
        shards=len(list(shards.glob("*.json"))),
        bytes=folder_bytes(atlas.folder),
        leftovers=len(_leftovers(atlas, 0.0)),
        corrupt=len({p.name.split(".")[0] for p in shards.glob("*.corrupt")}),
        last_used=last_used,
        builds=atlas.builds(),
    )


def clean(atlas: Atlas, age: float = LEFTOVER_AGE) -> int:
    """Remove a killed writer's leftovers (and set-aside damaged shards); how many files."""
    removed = 0
    for path in _leftovers(atlas, age) + list((atlas.folder / SHARDS).glob("*.corrupt")):
        try:
            path.unlink()
            removed += 1
        except OSError:
            continue
    return removed


@contextmanager
def _compaction_lock(atlas: Atlas) -> Iterator[bool]:
    """Hold the atlas's compaction lock if no other process does; yields whether it is held."""
    fd = os.open(atlas.folder / ".compact.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def compact(atlas: Atlas, above: int = COMPACT_ABOVE) -> int:
    """Merge an atlas's small shards into one when it has more than ``above``; shards merged.

    Only one process compacts at a time (others skip). Rows are copied, the merged shard is
    committed, and only then are the merged shards removed.
    """
    with _compaction_lock(atlas) as held:
        if not held:
            return 0
        current = Atlas.at(atlas.folder)  # what is on disk now, not what ``atlas`` once saw
        shards = {n: e for n, e in current.shards().items() if len(e) < SMALL_SHARD}
        if len(shards) <= above:
            return 0
        entries: list[AtlasEntry] = []
        parts: list[np.ndarray] = []
        seen: set[tuple[str, int]] = set()
        merged: list[str] = []
        for name, shard_entries in sorted(shards.items()):
            try:
                rows = np.load(atlas.folder / SHARDS / f"{name}.npy")
            except (OSError, ValueError, EOFError):
                continue  # removed or damaged meanwhile: readers set it aside
            keep = [i for i, e in enumerate(shard_entries) if (e.concept, e.seed) not in seen]
            for i in keep:
                seen.add((shard_entries[i].concept, shard_entries[i].seed))
                entries.append(shard_entries[i])
            parts.append(rows[keep])
            merged.append(name)
        if len(merged) < 2:
            return 0
        units = max(p.shape[1] for p in parts)
        parts = [p if p.shape[1] == units else np.zeros((p.shape[0], units), p.dtype)
                 for p in parts]  # flagged-only shards stored before any row had a width
        current.add(entries, np.concatenate(parts))
        for name in merged:
            (atlas.folder / SHARDS / f"{name}.json").unlink(missing_ok=True)
            (atlas.folder / SHARDS / f"{name}.npy").unlink(missing_ok=True)
        return len(merged)


def prune(root: Path | None = None, max_bytes: int | None = None,
          older_than_days: float | None = None) -> list[Path]:
    """Remove whole atlases: least recently used first until under ``max_bytes``.

    Also removes any atlas unused for more than ``older_than_days``. Returns removed folders.
    """
    atlases = [atlas_stats(a) for a in list_atlases(root)]
    atlases.sort(key=lambda s: s.last_used)
    removed: list[Path] = []
    now = time.time()
    total = sum(s.bytes for s in atlases)
    for stats in atlases:
        too_old = older_than_days is not None and now - stats.last_used > older_than_days * 86400
        too_big = max_bytes is not None and total > max_bytes
        if not (too_old or too_big):
            continue
        shutil.rmtree(stats.folder, ignore_errors=True)
        removed.append(stats.folder)
        total -= stats.bytes
    return removed


def parse_size(text: str) -> int:
    """'500MB', '2 GB', '750k', '1024' -> bytes; ConfigError on anything else."""
    units = {"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "m": 1 << 20, "mb": 1 << 20,
             "g": 1 << 30, "gb": 1 << 30, "t": 1 << 40, "tb": 1 << 40}
    cleaned = text.strip().lower().replace(" ", "")
    number = cleaned.rstrip("kmgtb")
    unit = cleaned[len(number):]
    try:
        value = float(number)
    except ValueError:
        value = -1.0
    if not math.isfinite(value) or value < 0 or unit not in units or value * units[unit] > 2**62:
        raise ConfigError(f"size '{text}' is not understood: use e.g. 500MB or 2GB")
    return int(value * units[unit])
