"""Evaluations started from the Evaluate page: each runs in a worker thread of the server.

The thread calls ``line_core.engine.evaluate.evaluate`` with the server's cached backends and
only writes the evaluation folder and its :class:`EvaluationJob` (plain Python: never ``st.*``,
which must not be called from other threads). The page polls the job from an
``st.fragment(run_every=...)`` and, once finished, reads the folder back. Jobs are kept per
server process, by output folder, so a reload or a second browser finds a running evaluation.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import streamlit as st

from line_core.config import DEFAULT_GENERATOR
from line_core.engine.evaluate import evaluate
from line_core.errors import LineError

LOG = logging.getLogger("line.dashboard")


@dataclass(frozen=True)
class EvaluationRequest:
    """What the page asks for: the arguments of ``evaluate`` that the user chose."""

    model: str
    layer: str
    sources: tuple[str, ...]
    n_images: int
    out_dir: Path
    natural_control: str | None = None
    generator: str = DEFAULT_GENERATOR
    force: bool = False


@dataclass
class EvaluationJob:
    """One evaluation's progress, written by its thread and read by the page."""

    request: EvaluationRequest
    started: float = field(default_factory=time.time)
    done: int = 0
    total: int = 0
    finished: float | None = None
    error: str | None = None
    thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def running(self) -> bool:
        """Whether the evaluation is still being computed."""
        return self.finished is None

    @property
    def succeeded(self) -> bool:
        """Whether it finished and wrote its folder."""
        return self.finished is not None and self.error is None

    def progress(self, done: int, total: int) -> None:
        """The ``on_progress`` callback of ``evaluate`` (runs in the worker thread)."""
        self.done, self.total = done, total


@st.cache_resource(show_spinner=False)
def _jobs() -> dict[str, EvaluationJob]:
    """Every job of this server process, by output folder."""
    return {}


def job_for(out_dir: Path | str) -> EvaluationJob | None:
    """The job writing ``out_dir`` (running or done), if this server started one."""
    return _jobs().get(str(Path(out_dir).resolve()))


def _work(job: EvaluationJob, target: Any, generator: Any) -> None:
    """The worker thread: evaluate, record how it ended; never touches Streamlit."""
    request = job.request
    try:
        evaluate(
            request.model, request.layer, list(request.sources), n_images=request.n_images,
            generator=request.generator, out_dir=request.out_dir,
            natural_control=request.natural_control, force=request.force,
            on_progress=job.progress, target=target, image_generator=generator,
        )  # fmt: skip
    except LineError as exc:
        job.error = str(exc)
    except Exception as exc:  # noqa: BLE001 - the page shows it; the log keeps the traceback
        LOG.exception("evaluation into %s failed", request.out_dir)
        job.error = (
            f"the evaluation failed: {type(exc).__name__}: {exc}. Nothing was "
            "written; the details are in the server log."
        )
    finally:
        job.finished = time.time()


def start(request: EvaluationRequest, target: Any, generator: Any) -> EvaluationJob:
    """Start an evaluation in a worker thread (or return the one already writing its folder)."""
    key = str(Path(request.out_dir).resolve())
    jobs = _jobs()
    running = jobs.get(key)
    if running is not None and running.running:
        return running
    job = EvaluationJob(request)
    job.thread = threading.Thread(
        target=_work, args=(job, target, generator), name=f"evaluate-{Path(key).name}", daemon=True
    )
    jobs[key] = job
    job.thread.start()
    return job
