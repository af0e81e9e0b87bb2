"""Writing figures to files: plotly through kaleido + Chromium, or matplotlib without a browser.

Kaleido 1.x (checked in its source, 1.5.0) renders in a headless Chromium it starts itself.
``kaleido.write_fig_sync`` / ``calc_fig_sync`` without a running server start and stop a browser
per call (~2.5 s here); ``kaleido.start_sync_server()`` keeps one global browser for the
process. For a batch we open one ``kaleido.Kaleido`` context in a worker thread (its own
event loop, so it also works under Streamlit or Jupyter) and render every figure and format
through it; the browser is closed when the batch ends, so nothing outlives the export.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from matplotlib.figure import Figure

from line_core.figures.style import PNG_DPI, PX_PER_IN

BROWSER_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
DEBIAN_CHROMIUM = "/usr/bin/chromium"


def _file_mode() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


#: Mode of written files: what ``open()`` would give under the process umask (mkstemp gives 0600).
FILE_MODE = _file_mode()


@dataclass
class PlotlyJob:
    """One file to render: a plotly figure, its output path and format."""

    fig: go.Figure
    path: Path
    fmt: str


def find_browser() -> str | None:
    """A Chromium/Chrome executable: ``$BROWSER_PATH``, then PATH, then Debian's; else None."""
    configured = os.environ.get("BROWSER_PATH")
    if configured:
        return configured if Path(configured).is_file() else None
    for name in BROWSER_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return DEBIAN_CHROMIUM if Path(DEBIAN_CHROMIUM).is_file() else None


def write_atomic(path: Path, data: bytes) -> None:
    """Write bytes so a reader sees the old file or the new one, never half of it."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def kaleido_opts(fig: go.Figure, fmt: str) -> dict[str, Any]:
    """Kaleido options: the figure's own size; PNG at ~300 dpi."""
    width = fig.layout.width or 7 * PX_PER_IN
    height = fig.layout.height or 4 * PX_PER_IN
    scale = PNG_DPI / PX_PER_IN if fmt == "png" else 1
    return {"format": fmt, "width": width, "height": height, "scale": scale}


def _in_thread(make: Callable[[], Any]) -> Any:
    """Run a coroutine factory on a fresh event loop in a worker thread; re-raise its error."""
    result: dict[str, Any] = {}

    def work() -> None:
        try:
            result["value"] = asyncio.run(make())
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            result["error"] = exc

    thread = threading.Thread(target=work, name="line-kaleido", daemon=True)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result.get("value")


@contextmanager
def zero_margin_pdf() -> Iterator[None]:
    """Make kaleido print PDFs without its 0.1 in page margins (restored on exit).

    Kaleido 1.5 prints with ``marginTop`` etc. = 0.1 in on a page the size of the figure, so
    Chromium shrinks the figure by ~6% and the bottom edge can be cut (seen here: the x-axis
    title was clipped). With zero margins the PDF matches the PNG/SVG exactly (checked by
    comparing rendered bounding boxes). If kaleido's private helper moves, nothing is patched.
    """
    try:
        from kaleido._kaleido_tab import _devtools_utils as devtools
    except ImportError:
        yield
        return
    original = getattr(devtools, "print_pdf", None)
    raise_error = getattr(devtools, "_raise_error", None)
    if original is None or raise_error is None:
        yield
        return

    async def print_pdf(tab: Any) -> str:
        params = {"printBackground": True, "preferCSSPageSize": True, "pageRanges": "1"}
        params |= {f"margin{side}": 0 for side in ("Top", "Bottom", "Left", "Right")}
        response = await tab.send_command("Page.printToPDF", params=params)
        raise_error(response)
        return response.get("result", {}).get("data")

    devtools.print_pdf = print_pdf
    try:
        yield
    finally:
        devtools.print_pdf = original


def render_kaleido(jobs: Sequence[PlotlyJob], timeout: float = 90.0) -> list[Path]:
    """Render every job through ONE kaleido/Chromium session; returns the written paths."""
    import kaleido

    browser = find_browser()
    if browser and not os.environ.get("BROWSER_PATH"):
        os.environ["BROWSER_PATH"] = browser

    async def batch() -> list[Path]:
        written = []
        async with kaleido.Kaleido(n=1, timeout=timeout, mathjax=False) as session:
            for job in jobs:
                data = await session.calc_fig(job.fig, opts=kaleido_opts(job.fig, job.fmt))
                write_atomic(job.path, data)
                written.append(job.path)
        return written

    with zero_margin_pdf():
        return _in_thread(batch)


def render_kaleido_oneshot(job: PlotlyJob) -> Path:
    """Render one job with a browser of its own (for timing comparisons)."""
    import kaleido

    with zero_margin_pdf():
        data = kaleido.calc_fig_sync(job.fig, opts=kaleido_opts(job.fig, job.fmt))
    write_atomic(job.path, data)
    return job.path


def save_mpl(fig: Figure, path: Path, fmt: str) -> Path:
    """Save a matplotlib figure (PNG at 300 dpi), atomically."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=f".{fmt}")
    os.close(fd)
    try:
        fig.savefig(tmp, format=fmt, dpi=PNG_DPI, facecolor="white", metadata=_metadata(fmt))
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _metadata(fmt: str) -> dict[str, Any] | None:
    if fmt == "pdf":
        return {"Creator": "LINE", "CreationDate": None}
    if fmt == "svg":
        return {"Date": None}
    return None
