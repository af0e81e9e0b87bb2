"""An evaluation's folder: refuse to overwrite another evaluation, write atomically, read back.

An evaluation folder holds ``results.parquet``, ``results.csv``, ``comparison.csv``,
``tests.csv``, ``comparison.tex``, ``tests.tex`` and the manifest ``evaluation.json``. The files
are written into a private temporary folder beside it, then moved in (the manifest last), so
a folder whose manifest is present always holds one complete evaluation. Re-running the same
evaluation (same identity: model, layer, sources, images, control, generator, seed) replaces
it; a different one is refused unless forced, and files that are not ours are never touched.
:func:`read_folder` reads a finished evaluation back (the dashboard shows it).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from line_core.errors import ConfigError
from line_core.evaluation.regimes import regime_of

MANIFEST_NAME = "evaluation.json"
RESULT_FILES = (
    "results.parquet", "results.csv", "comparison.csv", "tests.csv", "comparison.tex",
    "tests.tex", MANIFEST_NAME,
)  # fmt: skip


def read_identity(folder: Path) -> dict[str, Any] | None:
    """The identity stored in a folder's evaluation.json (None when absent or unreadable)."""
    try:
        data = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    identity = data.get("identity") if isinstance(data, dict) else None
    return identity if isinstance(identity, dict) else None


def check_folder(folder: Path, identity: Mapping[str, Any], force: bool = False) -> None:
    """ConfigError when writing to ``folder`` would replace something else (unless forced)."""
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"--out {folder} is a file, not a folder: choose another --out")
    if force or not folder.is_dir() or not any(folder.iterdir()):
        return
    stored = read_identity(folder)
    if stored is None:
        raise ConfigError(
            f"--out {folder} holds files but no {MANIFEST_NAME}: not an evaluation folder; "
            "choose another --out (or pass --force to write into it)"
        )
    if stored != dict(identity):
        what = f"{stored.get('model')} layer '{stored.get('layer')}'"
        raise ConfigError(
            f"--out {folder} holds a different evaluation ({what}, {stored.get('n_images')} "
            "images, other sources or settings): choose another --out or pass --force to "
            "replace it"
        )


def write_folder(folder: Path, files: Mapping[str, bytes]) -> None:
    """Write ``files`` (name -> content) into ``folder`` atomically, the manifest last."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.tmp-"))
    try:
        staging.chmod(0o755)  # mkdtemp makes it private; it becomes the evaluation folder
        for name, content in files.items():
            with open(staging / name, "wb") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
        if not folder.exists():
            try:
                staging.rename(folder)
                return
            except OSError:  # created meanwhile by someone else: move the files in one by one
                pass
        folder.mkdir(parents=True, exist_ok=True)
        (folder / MANIFEST_NAME).unlink(missing_ok=True)  # no manifest: not complete meanwhile
        for name in sorted(files, key=lambda n: n == MANIFEST_NAME):
            os.replace(staging / name, folder / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@dataclass
class StoredEvaluation:
    """A finished evaluation read from its folder: the manifest and the three tables."""

    folder: Path
    manifest: dict[str, Any]
    #: One row per (method, control, unit): ``RESULT_COLUMNS``.
    results: pd.DataFrame
    #: One row per (control, method): summaries with intervals.
    comparison: pd.DataFrame
    #: One row per (control, metric, pair of methods).
    tests: pd.DataFrame

    @property
    def controls(self) -> list[str]:
        """The regimes scored, in the evaluation's order."""
        return list(dict.fromkeys(self.results["control"]))

    @property
    def methods(self) -> list[str]:
        """The methods, in the evaluation's order."""
        return list(dict.fromkeys(self.results["method"]))

    def path(self, name: str) -> Path:
        """A file of the folder (``results.csv``, ``comparison.tex``, ...)."""
        return self.folder / name


def _with_control(frame: pd.DataFrame, regime: str) -> pd.DataFrame:
    """A table of an evaluation written before regimes existed gets its one regime."""
    if "control" not in frame.columns:
        frame.insert(0, "control", regime)
    return frame


def read_folder(folder: Path | str) -> StoredEvaluation:
    """Read an evaluation folder; ConfigError (one line) when it is not a complete one."""
    path = Path(folder).expanduser()
    manifest_path = path / MANIFEST_NAME
    if not manifest_path.is_file():
        raise ConfigError(
            f"{path} is not an evaluation folder (no {MANIFEST_NAME}): pick a "
            "folder written by `line evaluate` or the Evaluate page"
        )
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        results = (
            pd.read_parquet(path / "results.parquet")
            if (path / "results.parquet").is_file()
            else pd.read_csv(path / "results.csv")
        )
        comparison = pd.read_csv(path / "comparison.csv")
        tests = pd.read_csv(path / "tests.csv")
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"evaluation folder {path} cannot be read ({exc}): run the evaluation again"
        ) from None
    if not isinstance(manifest, dict):
        raise ConfigError(f"{manifest_path} is not an evaluation manifest: run it again")
    regime = regime_of(str(manifest.get("control", {}).get("spec", "generator")))
    results = _with_control(results, regime)
    if "collapsed" not in results.columns:
        results["collapsed"] = False
    return StoredEvaluation(
        path, manifest, results, _with_control(comparison, regime), _with_control(tests, regime)
    )
