"""The engine: the LINE loop and its one door (``line_core.engine.door``).

Callers (the CLI, the dashboard, sweeps) use only what is re-exported here: the door's
functions and, in ``choices``, what can be chosen (registries, layers, loaded backends).
"""

from line_core.engine import atlas, choices, sweep
from line_core.engine.door import (
    Started,
    apply_late_commands,
    history,
    preflight,
    prepare,
    repair,
    resume,
    resume_in_background,
    run_config,
    start,
    start_in_background,
    status,
    steer,
    stop,
)
from line_core.engine.warmup import PreparedStep, prepare_first_run

__all__ = [
    "PreparedStep", "Started", "apply_late_commands", "atlas", "choices", "history",
    "preflight", "prepare", "prepare_first_run", "repair", "resume", "resume_in_background",
    "run_config", "start", "start_in_background", "status", "steer", "stop", "sweep",
]  # fmt: skip
