"""A disk cache of converted models: GGUF weights de-quantised once into a plain folder.

De-quantising a GGUF through transformers takes 5-60 s per process; the converted float32
safetensors folder reloads in about a second. A conversion is written to a temporary folder
beside its target and renamed into place only when complete, with a marker file naming its
source, so a crash never leaves a half cache and a changed source is converted again.

Location: ``$LINE_CACHE_DIR/models/NAME`` (default ``~/.cache/line/models/NAME``).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from line_core.paths import cache_dir

log = logging.getLogger(__name__)

MARKER = "line_cache.json"
#: Bump when the converted layout changes, so old caches are rebuilt.
FORMAT_VERSION = 1
_STALE_TEMP_SECONDS = 6 * 3600


def models_dir() -> Path:
    """Folder holding one sub-folder per converted model (created on demand)."""
    return cache_dir("models")


def _read_marker(folder: Path) -> dict | None:
    try:
        return json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def is_cached(name: str, source_id: str) -> bool:
    """True when ``models_dir()/name`` holds a complete conversion of ``source_id``."""
    marker = _read_marker(models_dir() / name)
    return bool(
        marker and marker.get("source") == source_id and marker.get("format") == FORMAT_VERSION
    )


def cached_folder(name: str, source_id: str, build: Callable[[Path], None]) -> Path:
    """The cached folder for ``name``, building it with ``build(tmp_folder)`` when missing.

    ``source_id`` identifies what was converted (file name and size, or a hash); a cache whose
    marker names another source is rebuilt. Concurrent builders are safe: the first complete
    rename wins and the others discard their work.
    """
    root = models_dir()
    target = root / name
    if is_cached(name, source_id):
        return target
    root.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(root, name)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=root))
    try:
        started = time.perf_counter()
        log.info("converting %s once into %s (this can take up to a minute)", name, target)
        build(tmp)
        marker = {"source": source_id, "format": FORMAT_VERSION, "created": time.time()}
        (tmp / MARKER).write_text(json.dumps(marker), encoding="utf-8")
        _install(tmp, target, name, source_id)
        log.info("cached %s in %.1f s", name, time.perf_counter() - started)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def _install(tmp: Path, target: Path, name: str, source_id: str) -> None:
    """Atomically move a finished conversion into place (replacing an outdated one)."""
    if target.exists():
        if is_cached(name, source_id):
            return  # another process finished first
        old = target.with_name(f".{name}.old-{os.getpid()}-{time.time_ns()}")
        os.replace(target, old)
        shutil.rmtree(old, ignore_errors=True)
    try:
        os.replace(tmp, target)
    except OSError:
        if not is_cached(name, source_id):
            raise


def _remove_stale_temps(root: Path, name: str) -> None:
    """Delete temporary folders left by crashed conversions (older than a few hours)."""
    now = time.time()
    for leftover in root.glob(f".{name}.*-*"):
        try:
            if now - leftover.stat().st_mtime > _STALE_TEMP_SECONDS:
                shutil.rmtree(leftover, ignore_errors=True)
        except OSError:
            continue


def convert_gguf(gguf_path: Path, out_dir: Path, dtype: str = "float32") -> None:
    """De-quantise a GGUF causal LM into a plain safetensors folder with its tokenizer.

    ``save_pretrained`` refuses a GGUF-loaded model, so the weights move into a model built
    from the same config without its quantization config.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch_dtype = getattr(torch, dtype)
    folder, file_name = str(gguf_path.parent), gguf_path.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=file_name)
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=file_name, dtype=torch_dtype)
    config_dict = loaded.config.to_dict()
    config_dict.pop("quantization_config", None)
    config = type(loaded.config).from_dict(config_dict)
    model = AutoModelForCausalLM.from_config(config, dtype=torch_dtype)
    model.load_state_dict(loaded.state_dict(), strict=True)
    del loaded
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
