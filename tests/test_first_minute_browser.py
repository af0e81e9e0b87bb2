"""The first minute of a new user, in a real headless Chromium against a real server.

The caches are prepared the way ``make demo`` prepares them (``line prepare``), then the Explore
page of an empty runs folder is opened and **Start run** pressed with the default settings. The
test asserts only that iteration 1 appears; the seconds from pressing Start to iteration 1 (and
what preparing took) are written to ``artifacts/first_minute.json`` and printed, never asserted
(these machines are noisy: see ``benchmarks/``).

``LINE_FIRST_MINUTE_COLD=1`` skips the preparing (point ``LINE_CACHE_DIR`` at an empty folder
to measure a fresh install); the result then goes to ``artifacts/first_minute_cold.json``.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from dashboard_server import dashboard_server
from test_dashboard_browser import CHROMIUM_ARGS, VIEWPORT, main_text, settle, shot

from line_core import engine
from line_core.record import list_runs
from line_core.record.events import IterationDone

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
COLD = bool(os.environ.get("LINE_FIRST_MINUTE_COLD"))
ARTIFACT = ROOT / "artifacts" / ("first_minute_cold.json" if COLD else "first_minute.json")
FIRST_ITERATION = re.compile(r"\bIteration 1\b")
#: What the page shows on the way to iteration 1, for the timeline in the artifact.
MILESTONES = {"run page": "Stop", "initial pool": "Initial pool"}


@pytest.fixture(scope="module")
def prepared() -> dict[str, float]:
    """Prepare the caches as ``make demo`` does; the seconds of each step."""
    if COLD:
        return {}
    steps = engine.prepare_first_run()
    return {s.name: round(s.seconds, 2) for s in steps}


@pytest.fixture(scope="module")
def fresh_server(tmp_path_factory, prepared) -> Iterator[tuple[str, Path]]:
    """``line dashboard`` on an empty runs folder (a new user's first visit)."""
    runs = tmp_path_factory.mktemp("first") / "runs"
    runs.mkdir()
    with dashboard_server(runs, runs.parent / "server.log", patience_s=120) as base:
        yield base, runs


def _event_seconds(runs: Path, pressed: float) -> dict[str, float]:
    """Seconds from pressing Start to the run's first events (from their time stamps)."""
    times: dict[str, float] = {}
    for run_dir in list_runs(runs):
        hist = engine.history(run_dir)
        if hist.started is not None:
            times["worker started the run"] = round(hist.started.t - pressed, 2)
        for event in hist.completed:
            if isinstance(event, IterationDone) and event.iteration <= 1:
                times[f"iteration {event.iteration} done"] = round(event.t - pressed, 2)
    return times


def test_first_iteration_after_start_with_prepared_caches(chromium_path, fresh_server,
                                                         prepared):
    from playwright.sync_api import sync_playwright

    base, runs = fresh_server
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        tab = browser.new_page(viewport=VIEWPORT)
        tab.set_default_timeout(180_000)
        loading = time.time()
        tab.goto(f"{base}/")
        start = tab.get_by_role("button", name="Start run")
        start.wait_for()
        settle(tab)
        page_load = time.time() - loading
        assert "New here?" in main_text(tab)
        promise = next(line for line in main_text(tab).splitlines() if "New here?" in line)
        shot(tab, "first_minute_01_explore" + ("_cold" if COLD else ""))

        pressed = time.time()
        start.click()
        deadline = pressed + 600
        shown = None
        seen: dict[str, float] = {}
        while time.time() < deadline:
            anyway = tab.get_by_role("button", name="Start anyway")
            if anyway.count():
                anyway.first.click()
            text = main_text(tab)
            for name, marker in MILESTONES.items():
                if marker in text and name not in seen:
                    seen[name] = round(time.time() - pressed, 2)
            if FIRST_ITERATION.search(text):
                shown = time.time() - pressed
                break
            time.sleep(0.25)
        assert shown is not None, main_text(tab)[:2000]
        settle(tab, 1.0)
        shot(tab, "first_minute_02_iteration_1" + ("_cold" if COLD else ""))
        browser.close()

    result = {
        "start_to_iteration_1_on_page_s": round(shown, 2),
        "record_s": _event_seconds(runs, pressed),
        "page_s": seen,
        "first_page_load_s": round(page_load, 2),
        "prepare_s": prepared,
        "cache_dir": os.environ.get("LINE_CACHE_DIR", "~/.cache/line"),
        "explore_page_promise": promise,
        "cpus": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    ARTIFACT.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nfirst minute: {json.dumps(result)}")
