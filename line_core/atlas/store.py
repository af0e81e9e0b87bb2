"""The atlas on disk: every rendered image once, and the full layer activation row of each.

One folder per :class:`~line_core.atlas.key.AtlasKey` digest::

    key.json            what the rows depend on (written once, atomically)
    images/ab/<h>.png   images named by their pixels' hash (as run folders name them)
    shards/<id>.npy     activation rows [n, units] of one batch of images
    shards/<id>.json    the shard's index: (concept, seed, image, flagged) per row; the commit
    builds.jsonl        one line per vocabulary build (what was rendered for a broad first look)

Writers never modify a file: a shard's rows are written under a private name and renamed, then
its index the same way, and the index's appearance is the commit. So any number of processes
can read and write at once without locks, and a SIGKILL at any moment leaves either a complete
shard or files no reader looks at (temporary names, rows without an index) that
:func:`line_core.atlas.upkeep.clean` removes. A shard whose files are damaged is set aside as
``.corrupt`` and its rows are simply computed again when asked for. Two processes that render
the same concept both write it; the first shard found wins, and the rows are equal anyway.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from line_core.atlas.key import AtlasKey
from line_core.errors import ConfigError
from line_core.paths import cache_dir
from line_core.record.store import image_name, write_png

KEY_FILE = "key.json"
BUILDS_FILE = "builds.jsonl"
SHARDS = "shards"
IMAGES = "images"
USED_FILE = ".last-used"


@dataclass(frozen=True)
class AtlasEntry:
    """One stored image: its concept and seed, its file (relative to the atlas), its row."""

    concept: str
    seed: int
    image: str
    flagged: bool = False


@dataclass
class _Shard:
    name: str
    entries: list[AtlasEntry]
    units: int
    rows: np.ndarray | None = None


def atlas_root() -> Path:
    """Where atlases live: ``$LINE_ATLAS_DIR``, else ``$LINE_CACHE_DIR/atlas``.

    Put it on a file system every machine sees to share atlases across a cluster.
    """
    configured = os.environ.get("LINE_ATLAS_DIR")
    if configured:
        root = Path(configured).expanduser()
        root.mkdir(parents=True, exist_ok=True)
        return root
    return cache_dir("atlas")


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Atlas:
    """The atlas of one (generator settings, model, layer, read-out, preprocessing)."""

    def __init__(self, folder: Path, key: AtlasKey) -> None:
        self.folder = folder
        self.key = key
        self._shards: dict[str, _Shard] = {}
        self._index: dict[tuple[str, int], tuple[str, int]] = {}
        self._concepts: dict[str, None] = {}
        self._seen: set[str] = set()
        self._lock = threading.RLock()  # threads of one process (a sweep) share one Atlas

    # -- opening ---------------------------------------------------------------------------
    @classmethod
    def open(cls, key: AtlasKey, root: Path | None = None) -> Atlas:
        """The atlas of ``key`` under ``root`` (created empty if it does not exist yet)."""
        folder = (root or atlas_root()) / key.digest
        try:
            (folder / SHARDS).mkdir(parents=True, exist_ok=True)
            (folder / IMAGES).mkdir(exist_ok=True)
            if not (folder / KEY_FILE).exists():
                _write_atomic(folder / KEY_FILE, json.dumps(key.to_dict(), indent=1).encode())
            (folder / USED_FILE).touch()
        except OSError as exc:
            raise ConfigError(
                f"the concept atlas at '{folder}' cannot be written ({exc.strerror or exc}); "
                "set LINE_CACHE_DIR to a writable folder or pass --no-atlas"
            ) from None
        return cls(folder, key)

    @classmethod
    def at(cls, folder: Path) -> Atlas:
        """An existing atlas folder (for stats and upkeep); ConfigError if it is not one."""
        try:
            data = json.loads((folder / KEY_FILE).read_text(encoding="utf-8"))
            key = AtlasKey(**data)
        except (OSError, ValueError, TypeError) as exc:
            raise ConfigError(f"'{folder}' is not a concept atlas ({exc})") from None
        return cls(folder, key)

    # -- reading ---------------------------------------------------------------------------
    def refresh(self) -> None:
        """Take in shards other processes committed since the last look."""
        with self._lock:
            for index_file in sorted((self.folder / SHARDS).glob("*.json")):
                name = index_file.stem
                if name in self._seen:
                    continue
                self._seen.add(name)
                shard = _read_shard(index_file)
                if shard is None:
                    _set_aside(index_file)
                    continue
                self._take(shard)

    def _take(self, shard: _Shard) -> None:
        self._seen.add(shard.name)
        self._shards[shard.name] = shard
        for row, entry in enumerate(shard.entries):
            self._index.setdefault((entry.concept, entry.seed), (shard.name, row))
            if not entry.flagged:
                self._concepts.setdefault(entry.concept, None)

    def _forget(self) -> None:
        with self._lock:
            self._clear()

    def _clear(self) -> None:
        self._shards.clear()
        self._index.clear()
        self._concepts.clear()
        self._seen.clear()

    def lookup(self, concept: str, seeds: Sequence[int]) -> list[AtlasEntry | None]:
        """The stored entry of each (concept, seed), None where it is not stored."""
        with self._lock:
            found = [self._entry(concept, seed) for seed in seeds]
            if any(e is None for e in found):
                self.refresh()
                found = [self._entry(concept, seed) for seed in seeds]
            return found

    def _entry(self, concept: str, seed: int) -> AtlasEntry | None:
        where = self._index.get((concept, int(seed)))
        if where is None:
            return None
        name, row = where
        return self._shards[name].entries[row]

    def rows(self, concept: str, seeds: Sequence[int]) -> np.ndarray:
        """Activation rows [len(seeds), units] of stored (concept, seed) pairs, in order."""
        for attempt in range(2):
            try:
                with self._lock:
                    return np.stack([self._row(concept, seed) for seed in seeds])
            except FileNotFoundError:  # another process compacted the shards meanwhile
                if attempt:
                    raise
                self._forget()
                self.refresh()
        raise AssertionError("unreachable")

    def _row(self, concept: str, seed: int) -> np.ndarray:
        where = self._index.get((concept, int(seed)))
        if where is None:
            self.refresh()
            where = self._index.get((concept, int(seed)))
        if where is None:
            raise KeyError(f"({concept!r}, {seed}) is not in the atlas")
        name, row = where
        return np.asarray(self._shard_rows(self._shards[name])[row])

    def concepts(self) -> list[str]:
        """Every concept with at least one usable image, in the order first stored."""
        with self._lock:
            self.refresh()
            return list(self._concepts)

    def concept_rows(self, concept: str) -> np.ndarray:
        """Every stored, unflagged row of a concept [n, units] (any seeds)."""
        with self._lock:
            self.refresh()
            seeds = [s for (c, s), (name, row) in self._index.items()
                     if c == concept and not self._shards[name].entries[row].flagged]
        return self.rows(concept, seeds) if seeds else np.zeros((0, self.units))

    def table(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Every unflagged row [N, units] at once, for ranking every concept for a unit.

        Returns (concepts, owner, rows): ``owner[i]`` is the index in ``concepts`` of row i.
        """
        with self._lock:
            try:
                return self._table()
            except FileNotFoundError:  # another process compacted the shards meanwhile
                self._clear()
                return self._table()

    def _table(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        self.refresh()
        order = {c: i for i, c in enumerate(self._concepts)}
        owner: list[int] = []
        parts: list[np.ndarray] = []
        for name, shard in self._shards.items():
            keep = [i for i, e in enumerate(shard.entries)
                    if not e.flagged and self._index.get((e.concept, e.seed)) == (name, i)]
            if keep:
                parts.append(np.asarray(self._shard_rows(shard)[keep]))
                owner.extend(order[shard.entries[i].concept] for i in keep)
        rows = np.concatenate(parts) if parts else np.zeros((0, self.units), dtype=np.float32)
        return list(order), np.asarray(owner, dtype=np.int64), rows

    def _shard_rows(self, shard: _Shard) -> np.ndarray:
        if shard.rows is None:
            shard.rows = np.load(self.folder / SHARDS / f"{shard.name}.npy", mmap_mode="r")
        return shard.rows

    def shards(self) -> dict[str, list[AtlasEntry]]:
        """The entries of every committed shard, by shard name (after a refresh)."""
        with self._lock:
            self.refresh()
            return {name: list(shard.entries) for name, shard in self._shards.items()}

    @property
    def units(self) -> int:
        """Units per row (0 while the atlas is empty)."""
        return next((s.units for s in self._shards.values() if s.units), 0)

    def image_path(self, rel: str) -> Path:
        """The absolute path of a stored image."""
        return self.folder / rel

    # -- writing ---------------------------------------------------------------------------
    def save_image(self, image: Image.Image) -> str:
        """Store an image once (named by its pixels); its path relative to the atlas."""
        name = image_name(image)
        rel = f"{IMAGES}/{name[:2]}/{name}"
        path = self.folder / rel
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            write_png(image, path)
        return rel

    def add(self, entries: Sequence[AtlasEntry], rows: np.ndarray) -> str:
        """Commit one shard: ``rows[i]`` is the activation row of ``entries[i]``; its name."""
        rows = np.array(rows, copy=True, order="C")
        if rows.ndim != 2 or rows.shape[0] != len(entries):
            raise ValueError(f"{len(entries)} entries but rows of shape {rows.shape}")
        # names sort in commit-time order (nanoseconds), so every reader prefers the same shard
        name = f"{time.time_ns():020d}-{os.getpid()}-{secrets.token_hex(4)}"
        shards = self.folder / SHARDS
        fd, tmp = tempfile.mkstemp(dir=shards, prefix=".", suffix=".npy")
        os.close(fd)
        try:
            np.save(tmp, rows)
            os.replace(tmp, shards / f"{name}.npy")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        index = {
            "units": int(rows.shape[1]),
            "entries": [[e.concept, int(e.seed), e.image, bool(e.flagged)] for e in entries],
        }
        _write_atomic(shards / f"{name}.json", json.dumps(index).encode())
        with self._lock:
            self._take(_Shard(name, list(entries), int(rows.shape[1]), rows))
        return name

    def record_build(self, info: dict[str, object]) -> None:
        """Note a finished vocabulary build (one line, appended in one write)."""
        line = json.dumps({**info, "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z")}) + "\n"
        fd = os.open(self.folder / BUILDS_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)

    def builds(self) -> list[dict[str, object]]:
        """The vocabulary builds finished on this atlas, oldest first (damaged lines skipped)."""
        try:
            lines = (self.folder / BUILDS_FILE).read_text(encoding="utf-8").splitlines()
        except OSError:
            return []
        found = []
        for line in lines:
            try:
                item = json.loads(line)
            except ValueError:
                continue
            if isinstance(item, dict):
                found.append(item)
        return found


def _read_shard(index_file: Path) -> _Shard | None:
    """A shard's index and a check of its rows' header; None when either is damaged."""
    try:
        data = json.loads(index_file.read_text(encoding="utf-8"))
        units = int(data["units"])
        entries = [AtlasEntry(str(c), int(s), str(i), bool(f)) for c, s, i, f in data["entries"]]
        rows = np.load(index_file.with_suffix(".npy"), mmap_mode="r")
    except FileNotFoundError:
        return None if index_file.exists() else _Shard(index_file.stem, [], 0)
    except (OSError, ValueError, TypeError, KeyError, EOFError):
        return None
    if rows.ndim != 2 or rows.shape != (len(entries), units):
        return None
    return _Shard(index_file.stem, entries, units, rows)


def _set_aside(index_file: Path) -> None:
    """Move a damaged shard's files to ``.corrupt`` names (kept for a look, never read)."""
    for path in (index_file, index_file.with_suffix(".npy")):
        try:
            path.replace(path.with_name(path.name + ".corrupt"))
        except OSError:
            pass


def shard_files(folder: Path) -> Iterable[Path]:
    """Every file in an atlas's shard folder."""
    return (folder / SHARDS).iterdir()
