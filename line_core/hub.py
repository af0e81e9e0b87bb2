"""Whether model hubs may be used: one place for every backend's offline decision."""

from __future__ import annotations

import functools
import os

_TRUE = {"1", "true", "yes", "on"}
OFFLINE_VARIABLES = ("LINE_OFFLINE", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")


def env_offline() -> bool:
    """True when the environment asks for offline use (LINE_OFFLINE, HF_HUB_OFFLINE, ...)."""
    return any(os.environ.get(name, "").strip().lower() in _TRUE for name in OFFLINE_VARIABLES)


@functools.lru_cache(maxsize=1)
def hub_reachable(timeout: float = 3.0) -> bool:
    """True when the Hugging Face hub answers an HTTP request (checked once per process)."""
    import httpx
    from huggingface_hub import constants

    try:
        httpx.head(constants.ENDPOINT, timeout=timeout)
    except Exception:  # noqa: BLE001 - any failure to get an answer means: work offline
        return False
    return True


def is_offline() -> bool:
    """True when models must load from local files only (asked for, or no hub answers).

    Without this check a hub id on a machine with no network retries for most of a minute
    before failing; with it the one-line "download X" error comes within seconds.
    """
    return env_offline() or not hub_reachable()


def quiet_transformers() -> None:
    """Silence transformers' per-load progress bars ("Loading weights ...") in our output."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
