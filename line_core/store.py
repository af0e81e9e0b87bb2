"""Runs on disk: one folder per run, crash-safe.

Layout of a run folder::

    manifest.json    config, backends, seeds, package versions, git revision (atomic write)
    events.jsonl     one event per line, appended, flushed and fsynced per event
    commands.jsonl   requests from a researcher (inject, ban, ...) that the running loop reads
    images/          PNG files named by the SHA-256 of their pixels (content-addressed)
    history.csv      flat export of every scored concept (also history.parquet)

A run killed at any moment keeps every line that was fully written; a half-written last line
is ignored on read and cut off before the next append.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from line_core.errors import RunStoreError
from line_core.events import Event, RunResumed, event_from_dict

MANIFEST = "manifest.json"
EVENTS = "events.jsonl"
COMMANDS = "commands.jsonl"
IMAGES = "images"


def atomic_write_text(path: Path, text: str) -> None:
    """Write a file so that readers see the old or the new content, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def slug(text: str, max_len: int = 40) -> str:
    """A file-name-safe version of a string (letters, digits, dot, dash, underscore)."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._-")
    return (cleaned or "x")[:max_len]


def _append_line(path: Path, record: dict[str, Any]) -> None:
    line = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(line)
        handle.flush()
        os.fsync(handle.fileno())


def _read_lines(path: Path) -> Iterator[dict[str, Any]]:
    """Yield the complete JSON lines of a file; a broken final line is skipped."""
    if not path.exists():
        return
    with open(path, encoding="utf-8", errors="replace") as handle:
        lines = handle.read().split("\n")
    for number, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            if number >= len(lines) - 2:  # the last line, cut by a crash
                return
            raise RunStoreError(f"{path} line {number + 1} is corrupt ({exc.msg})") from None
        if isinstance(record, dict):
            yield record


def _cut_partial_tail(path: Path) -> None:
    """Remove a half-written last line (no trailing newline) left by a crash."""
    if not path.exists() or path.stat().st_size == 0:
        return
    with open(path, "rb+") as handle:
        data = handle.read()
        if data.endswith(b"\n"):
            return
        keep = data.rfind(b"\n") + 1
        handle.truncate(keep)
        handle.flush()
        os.fsync(handle.fileno())


class RunStore:
    """One run folder: manifest, append-only events, researcher commands, images."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)
        self.images_dir = self.run_dir / IMAGES

    # -- creating and opening -------------------------------------------------------------
    @classmethod
    def create(cls, runs_dir: Path | str, manifest: dict[str, Any], name: str) -> RunStore:
        """Make a new run folder under ``runs_dir`` named from ``name`` plus time and a tag."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        run_dir = Path(runs_dir) / f"{slug(name, 80)}-{stamp}-{secrets.token_hex(2)}"
        try:
            run_dir.mkdir(parents=True, exist_ok=False)
            (run_dir / IMAGES).mkdir()
        except OSError as exc:
            raise RunStoreError(f"cannot create run folder {run_dir}: {exc.strerror}") from None
        store = cls(run_dir)
        store.write_manifest(manifest)
        (run_dir / EVENTS).touch()
        return store

    @classmethod
    def open(cls, run_dir: Path | str) -> RunStore:
        """Open an existing run folder; RunStoreError if it is not a readable run."""
        path = Path(run_dir)
        if not path.is_dir():
            raise RunStoreError(f"{path} is not a folder: pass a run folder made by `line explain`")
        store = cls(path)
        store.manifest()  # validates
        return store

    # -- manifest --------------------------------------------------------------------------
    def manifest(self) -> dict[str, Any]:
        """The run's manifest; RunStoreError if missing or unreadable."""
        path = self.run_dir / MANIFEST
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RunStoreError(
                f"{self.run_dir} has no {MANIFEST}: not a LINE run folder"
            ) from None
        except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise RunStoreError(f"{path} is unreadable ({exc}); the run cannot be used") from None
        if not isinstance(data, dict) or "config" not in data:
            raise RunStoreError(f"{path} is not a LINE manifest (no 'config')")
        return data

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        """Write the manifest atomically."""
        atomic_write_text(self.run_dir / MANIFEST, json.dumps(manifest, indent=2, default=str))

    # -- events ----------------------------------------------------------------------------
    def append(self, event: Event) -> None:
        """Append one event and force it to disk."""
        _append_line(self.run_dir / EVENTS, event.to_dict())

    def prepare_append(self) -> None:
        """Cut a crash's half-written last line so the next append starts on a fresh line."""
        _cut_partial_tail(self.run_dir / EVENTS)
        _cut_partial_tail(self.run_dir / COMMANDS)

    def raw_events(self) -> list[Event]:
        """Every complete event line as written, in order (unknown types skipped)."""
        out: list[Event] = []
        for record in _read_lines(self.run_dir / EVENTS):
            try:
                out.append(event_from_dict(record))
            except (ValueError, TypeError):
                continue
        return out

    def events(self) -> list[Event]:
        """Effective events: a resume voids what a crashed attempt left of later iterations."""
        effective: list[Event] = []
        for event in self.raw_events():
            if isinstance(event, RunResumed):
                effective = [
                    e
                    for e in effective
                    if getattr(e, "iteration", -1) is None
                    or getattr(e, "iteration", -1) <= event.from_iteration
                ]
            effective.append(event)
        return effective

    # -- researcher commands ---------------------------------------------------------------
    def post_command(self, action: str, **payload: Any) -> str:
        """Queue a researcher's request for the running loop; returns its id."""
        command_id = f"{time.time():.6f}-{secrets.token_hex(3)}"
        _append_line(self.run_dir / COMMANDS, {"id": command_id, "action": action, **payload})
        return command_id

    def commands(self) -> list[dict[str, Any]]:
        """Every queued command, oldest first."""
        return list(_read_lines(self.run_dir / COMMANDS))

    # -- images ----------------------------------------------------------------------------
    def save_image(self, image: Image.Image) -> str:
        """Store a PNG named by its pixels' hash; returns the path relative to the run folder."""
        rgb = image.convert("RGB")
        digest = hashlib.sha256(np.asarray(rgb).tobytes() + f"{rgb.size}".encode()).hexdigest()[:24]
        rel = f"{IMAGES}/{digest}.png"
        path = self.run_dir / rel
        if not path.exists():
            self.images_dir.mkdir(exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.images_dir, suffix=".png.tmp")
            os.close(fd)
            try:
                rgb.save(tmp, format="PNG")
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return rel

    def image_path(self, rel: str) -> Path:
        """Absolute path of a stored image (rejects paths leaving the run folder)."""
        path = (self.run_dir / rel).resolve()
        if self.run_dir.resolve() not in path.parents:
            raise RunStoreError(f"image path {rel!r} leaves the run folder")
        return path

    def load_image(self, rel: str) -> Image.Image:
        """Open a stored image."""
        with Image.open(self.image_path(rel)) as img:
            return img.convert("RGB")


def list_runs(runs_dir: Path | str) -> list[Path]:
    """Run folders (those with a manifest) under ``runs_dir``, newest first."""
    root = Path(runs_dir)
    if not root.is_dir():
        return []
    found = [p.parent for p in root.glob(f"**/{MANIFEST}") if p.parent.is_dir()]
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)
