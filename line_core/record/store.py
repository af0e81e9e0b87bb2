"""Runs on disk: one folder per run, crash-safe.

Layout of a run folder::

    manifest.json    config, backends, seeds, package versions, git revision (atomic write)
    events.jsonl     one event per line, appended, flushed and fsynced per event
    commands.jsonl   requests from a researcher (inject, ban, ...) that the running loop reads
    images/          PNG files named by the SHA-256 of their pixels (content-addressed)
    history.csv      flat export of every scored concept (also history.parquet)

A run killed at any moment keeps every line that was fully written; a half-written last line
is ignored on read and cut off before the next append. A complete line that does not parse is
skipped by readers and moved to ``events.jsonl.corrupt`` by the next writer (``repair``), so a
damaged file never blocks show, export or resume. One process at a time appends events: it
holds the run's writer lock (``line_core.record.lock``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from line_core.errors import RunStoreError
from line_core.record.commands import Command, command_from_dict
from line_core.record.events import Event, RunResumed, UserAction, event_from_dict
from line_core.record.lock import WriterLock
from line_core.record.manifest import Manifest

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
    """Append one JSON line in a single write (O_APPEND) and force it to disk.

    NaN and infinity are refused (``allow_nan=False``): JSON has no such values and a reader in
    another language would choke on them.
    """
    line = json.dumps(record, ensure_ascii=False, separators=(",", ":"), allow_nan=False) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class BadLine:
    """A complete line of a JSON-lines file that does not parse (kept aside by a repair)."""

    number: int
    text: str
    reason: str


def _scan_lines(path: Path) -> tuple[list[dict[str, Any]], list[BadLine], bool]:
    """(records, bad complete lines, whether a half-written tail was seen)."""
    if not path.exists():
        return [], [], False
    data = path.read_bytes()
    partial = bool(data) and not data.endswith(b"\n")
    lines = data.split(b"\n")
    if partial:
        lines = lines[:-1]
    records, bad = [], []
    for number, raw in enumerate(lines, start=1):
        text = raw.decode("utf-8", errors="replace")
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            bad.append(BadLine(number, text, exc.msg))
            continue
        if not isinstance(record, dict):
            bad.append(BadLine(number, text, "not a JSON object"))
            continue
        records.append(record)
    return records, bad, partial


def _read_lines(path: Path) -> list[dict[str, Any]]:
    """The JSON objects of a file; corrupt lines and a crash's half-written tail are skipped."""
    return _scan_lines(path)[0]


def _repair(path: Path) -> list[BadLine]:
    """Cut a half-written tail and move complete corrupt lines to ``PATH.corrupt``.

    The good lines are rewritten atomically in their order; the bad ones are appended to the
    ``.corrupt`` file with their line number, so nothing is lost and the next append starts on
    a clean line. Returns the lines moved aside.
    """
    records, bad, partial = _scan_lines(path)
    if not bad and not partial:
        return []
    if bad:
        aside = path.with_name(path.name + ".corrupt")
        with open(aside, "a", encoding="utf-8") as handle:
            for line in bad:
                handle.write(json.dumps({"line": line.number, "reason": line.reason,
                                         "text": line.text}) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
    text = "".join(
        json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in records
    )
    atomic_write_text(path, text)
    return bad


def _events(records: list[dict[str, Any]]) -> list[Event]:
    """Typed events of parsed lines (unknown types skipped: a newer version wrote them)."""
    out: list[Event] = []
    for record in records:
        try:
            out.append(event_from_dict(record))
        except (ValueError, TypeError):
            continue
    return out


def _survives(event: Event, from_iteration: int) -> bool:
    """Whether an event outlives a resume from ``from_iteration``.

    Events of later iterations are void (their work is done again), except the answer to a
    stop: it ended that session, and voiding it would make the resumed run stop again.
    """
    iteration = getattr(event, "iteration", -1)
    if iteration is None or iteration <= from_iteration:
        return True
    return isinstance(event, UserAction) and event.action == "stop"


def _effective(events: list[Event]) -> list[Event]:
    """Drop what a crashed or stopped attempt left of iterations a later resume started again."""
    effective: list[Event] = []
    for event in events:
        if isinstance(event, RunResumed):
            effective = [e for e in effective if _survives(e, event.from_iteration)]
        effective.append(event)
    return effective


def image_name(image: Image.Image) -> str:
    """The file name of an image: the SHA-256 of its RGB pixels and size, plus ``.png``."""
    rgb = image.convert("RGB")
    digest = hashlib.sha256(np.asarray(rgb).tobytes() + f"{rgb.size}".encode()).hexdigest()[:24]
    return f"{digest}.png"


def write_png(image: Image.Image, path: Path) -> None:
    """Write an image as PNG atomically (a private temporary name, then a rename)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".png.tmp")
    os.close(fd)
    try:
        image.convert("RGB").save(tmp, format="PNG")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class RunStore:
    """One run folder: manifest, append-only events, researcher commands, images.

    Anyone may read a run and post commands to it; appending events needs the writer lock
    (:meth:`writer`), which one process at a time holds.
    """

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)
        self.images_dir = self.run_dir / IMAGES
        self.lock = WriterLock(self.run_dir)

    # -- creating and opening -------------------------------------------------------------
    @classmethod
    def create(cls, runs_dir: Path | str, manifest: Manifest, name: str) -> RunStore:
        """Make a new run folder under ``runs_dir`` and take its writer lock.

        The folder is named from ``name`` plus time and a tag; the returned store holds the
        lock (release it with ``store.lock.release()`` or by handing the run to a worker).
        """
        if not str(runs_dir).strip():
            raise RunStoreError("the runs folder is empty: pass a folder such as 'runs'")
        stamp = time.strftime("%Y%m%d-%H%M%S")
        run_dir = Path(runs_dir) / f"{slug(name, 80)}-{stamp}-{secrets.token_hex(2)}"
        try:
            run_dir.mkdir(parents=True, exist_ok=False)
            (run_dir / IMAGES).mkdir()
            store = cls(run_dir)
            store.lock.acquire()
            store.write_manifest(manifest)
            (run_dir / EVENTS).touch()
        except OSError as exc:
            raise RunStoreError(f"cannot create run folder {run_dir}: {exc.strerror}") from None
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
    def manifest(self) -> Manifest:
        """The run's typed manifest; RunStoreError if missing or unreadable."""
        path = self.run_dir / MANIFEST
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RunStoreError(
                f"{self.run_dir} has no {MANIFEST}: not a LINE run folder"
            ) from None
        except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise RunStoreError(f"{path} is unreadable ({exc}); the run cannot be used") from None
        return Manifest.from_dict(data, where=str(path))

    def write_manifest(self, manifest: Manifest) -> None:
        """Write the manifest atomically."""
        text = json.dumps(manifest.to_dict(), indent=2, default=str, allow_nan=False)
        atomic_write_text(self.run_dir / MANIFEST, text)

    # -- events ----------------------------------------------------------------------------
    def writer(self) -> WriterLock:
        """Take this run's writer lock (RunLockedError naming the holder if another has it)."""
        return self.lock.acquire()

    def append(self, event: Event) -> None:
        """Append one event and force it to disk (the caller holds the writer lock)."""
        if not self.lock.held:
            raise RunStoreError(f"{self.run_dir}: events are appended only under the writer lock")
        _append_line(self.run_dir / EVENTS, event.to_dict())

    def repair(self) -> list[BadLine]:
        """Make the events file appendable: cut a crash's tail, move corrupt lines aside.

        Needs the writer lock. Returns the corrupt lines moved to ``events.jsonl.corrupt``.
        """
        if not self.lock.held:
            raise RunStoreError(f"{self.run_dir}: a repair needs the writer lock")
        return _repair(self.run_dir / EVENTS)

    def corrupt_lines(self) -> list[BadLine]:
        """Complete event lines that do not parse (a repair moves them aside)."""
        return _scan_lines(self.run_dir / EVENTS)[1]

    def raw_events(self) -> list[Event]:
        """Every readable event line as written, in order (unknown types and bad lines skipped)."""
        return _events(_read_lines(self.run_dir / EVENTS))

    def events(self) -> list[Event]:
        """Effective events: a resume voids what a crashed attempt left of later iterations."""
        return _effective(self.raw_events())

    def read_events(self) -> tuple[list[Event], list[BadLine]]:
        """Effective events and the corrupt lines, from one read of the events file."""
        records, bad, _ = _scan_lines(self.run_dir / EVENTS)
        return _effective(_events(records)), bad

    # -- researcher commands ---------------------------------------------------------------
    def post(self, command: Command) -> str:
        """Queue a researcher's command for the run's writer (any process may post); its id."""
        _append_line(self.run_dir / COMMANDS, command.validate().to_dict())
        return command.id

    def commands(self) -> list[Command]:
        """Every queued command, oldest first."""
        return [command_from_dict(c) for c in _read_lines(self.run_dir / COMMANDS)]

    # -- images ----------------------------------------------------------------------------
    def save_image(self, image: Image.Image) -> str:
        """Store a PNG named by its pixels' hash; returns the path relative to the run folder."""
        rel = f"{IMAGES}/{image_name(image)}"
        path = self.run_dir / rel
        if not path.exists():
            self.images_dir.mkdir(exist_ok=True)
            write_png(image, path)
        return rel

    def add_image_file(self, source: Path) -> str:
        """Take a stored PNG (named by :func:`image_name`) into the run; its relative path.

        A hard link where the file system allows one (no copy, and the run stays
        self-contained: deleting the source leaves the run's file), else a copy.
        """
        rel = f"{IMAGES}/{source.name}"
        path = self.run_dir / rel
        if not path.exists():
            self.images_dir.mkdir(exist_ok=True)
            try:
                os.link(source, path)
            except FileExistsError:
                pass
            except OSError:
                fd, tmp = tempfile.mkstemp(dir=self.images_dir, suffix=".png.tmp")
                os.close(fd)
                try:
                    shutil.copyfile(source, tmp)
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

