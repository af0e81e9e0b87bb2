"""User-facing errors: each carries one line saying what is wrong and what to do."""

from __future__ import annotations


class LineError(Exception):
    """Base of every error LINE reports to a user as one clear line (no traceback)."""


class ConfigError(LineError):
    """A bad choice: unknown model, layer, backend, neuron out of range, bad option."""


class MissingWeightsError(LineError):
    """Weights a backend needs are not on this machine; the message names what to download."""


class RunStoreError(LineError):
    """A run folder that cannot be read or resumed (missing, corrupt, not a run)."""


class BackendError(LineError):
    """A backend failed at run time (server refused, auth failure, model output unusable)."""


class RunLockedError(RunStoreError):
    """Another process is writing this run folder (one writer per run)."""
