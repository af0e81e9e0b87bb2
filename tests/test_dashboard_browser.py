"""The dashboard end to end in a real headless Chromium (Debian's), against a real server.

One live run of the offline default (2 iterations) is started from the page, watched, steered
(a concept injected and scored into the pool), analysed (polysemanticity) and exported (PDF and
SVG downloads). Every view is screenshotted to ``artifacts/screenshots/`` for a human to look at.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from dashboard_server import assert_no_view_error, dashboard_server, readme_asset
from test_dashboard_fixture_runs import copy_runs, pristine_runs

from line_core import engine
from line_core.export import export_figures
from line_core.record.events import PoolUpdated
from line_core.record.store import RunStore

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync",
]
VIEWPORT = {"width": 1440, "height": 2000}


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """A Streamlit server on 127.0.0.1 with three finished fixture runs in its runs folder."""
    runs = tmp_path_factory.mktemp("browser") / "runs"
    copy_runs(pristine_runs(tmp_path_factory), runs)
    log_path = runs.parent / "server.log"
    with dashboard_server(runs, log_path) as base:
        yield base, runs
    assert_no_view_error(log_path)


@pytest.fixture(scope="module")
def page(chromium_path, server):
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
        tab = context.new_page()
        tab.set_default_timeout(120_000)
        yield tab
        context.close()
        browser.close()


def settle(tab, seconds: float = 1.5) -> None:
    """Wait until no spinner shows, then a little longer for charts to draw."""
    deadline = time.time() + 120
    while time.time() < deadline:
        if tab.locator("[data-testid='stSpinner']").count() == 0:
            break
        time.sleep(0.3)
    time.sleep(seconds)


def shot(tab, name: str) -> Path:
    path = SHOTS / f"{name}.png"
    tab.screenshot(path=str(path))
    return path


def main_text(tab) -> str:
    return tab.locator("[data-testid='stMain']").inner_text()


def assert_no_error(tab) -> None:
    assert tab.locator("[data-testid='stException']").count() == 0
    assert tab.locator("[data-testid='stAlertContentError']").count() == 0, main_text(tab)[:2000]


def accept_reviews_until_finished(page, seconds: float = 300) -> int:
    """Accept every concept the proposer suggests until the run finishes; returns how many."""
    accepted, deadline = 0, time.time() + seconds
    while time.time() < deadline:
        if "**finished**" in main_text(page) or page.get_by_text("finished in").count():
            return accepted
        button = page.get_by_role("button", name="Accept")
        if button.count():
            button.first.click()
            accepted += 1
            time.sleep(2.0)
        time.sleep(0.5)
    raise AssertionError("the run did not finish")


def test_live_run_steer_analyse_export(server, page):
    """The default unit, 2 iterations, in review mode so the live state is deterministic:
    the run pauses before scoring each proposal, which is when we look, inject and accept."""
    from playwright.sync_api import expect

    base, runs = server
    page.goto(base + "/")
    page.get_by_role("button", name="Start run").wait_for()
    settle(page)
    shot(page, "01_explore_setup")
    iterations = page.get_by_label("Iterations")
    iterations.fill("2")
    iterations.press("Enter")
    settle(page, 1.0)
    expect(iterations).to_have_value("2", timeout=60_000)
    page.get_by_text("Advanced: control set").click()
    review = (
        page.locator("label").filter(has_text="Review mode: pause").locator("input").first
    )
    review.wait_for(state="attached", timeout=60_000)
    # on a busy machine a click can land while the page reruns and be lost: click until on
    deadline = time.time() + 90
    while not review.is_checked():
        assert time.time() < deadline, "the review toggle never turned on"
        page.get_by_text("Review mode: pause").click()
        for _ in range(20):
            if review.is_checked():
                break
            time.sleep(0.5)
    expect(review).to_be_checked(timeout=10_000)
    settle(page, 2.0)
    page.get_by_role("button", name="Start run").click()

    # live: the initial pool is scored, charts and images are up, the run waits for review
    page.wait_for_url("**run=*")
    page.get_by_role("button", name="Accept").wait_for(timeout=300_000)
    page.locator(".js-plotly-plot").nth(1).wait_for(timeout=60_000)
    settle(page, 2.0)
    assert "Waiting for review" in main_text(page)
    assert page.locator("[data-testid='stMain'] img").count() > 0
    assert_no_error(page)
    shot(page, "02_explore_live_review")
    run_key = page.url.split("run=")[1].split("&")[0]
    run_dir = runs / run_key

    # inject a concept from the sidebar while the run is live: it is scored into the pool
    page.get_by_label("Concepts to try").fill("yellow tiles")
    page.get_by_role("button", name="Inject").click()
    page.get_by_text("Your concepts").wait_for(timeout=120_000)
    assert "yellow tiles" in main_text(page)
    history = engine.history(run_dir)
    assert history.finished is None  # it was scored while the run was live
    settle(page, 2.0)
    shot(page, "03_explore_injected")
    assert accept_reviews_until_finished(page) >= 2
    page.get_by_text("finished in", exact=False).first.wait_for(timeout=60_000)
    settle(page, 2.0)
    assert_no_error(page)
    readme_asset(shot(page, "04_explore_finished"), "explore-run.png")
    history = engine.history(run_dir)
    assert [r.concept for r in history.records if r.source == "user"] == ["yellow tiles"]
    assert f"finished in {history.worked_seconds:.1f} s" in main_text(page) or (
        history.worked_seconds >= 90
    )
    entered = [
        e for e in RunStore.open(run_dir).events()
        if isinstance(e, PoolUpdated) and e.added == "yellow tiles" and "yellow tiles" in e.pool
    ]
    assert entered, "the injected concept never entered the pool"

    # polysemanticity view of this run
    page.get_by_role("link", name="Polysemanticity").first.click()
    page.get_by_text("Polysemanticity score").wait_for(timeout=120_000)
    settle(page, 2.0)
    assert_no_error(page)
    assert page.locator(".js-plotly-plot").count() >= 1
    shot(page, "05_polysemanticity")

    # export a PDF and an SVG and download both
    page.goto(f"{base}/export?run={run_key}")
    page.get_by_role("button", name="Export figures").click()
    page.get_by_role("button").filter(has_text=".pdf (").first.wait_for(timeout=240_000)
    settle(page, 2.0)
    shot(page, "06_export")
    files = {}
    for suffix in ("pdf", "svg"):
        button = page.get_by_role("button").filter(has_text=f".{suffix} (").first
        with page.expect_download() as download:
            button.click()
        target = runs.parent / f"download.{suffix}"
        download.value.save_as(target)
        files[suffix] = target
    assert files["pdf"].read_bytes()[:5] == b"%PDF-" and files["pdf"].stat().st_size > 2000
    svg = files["svg"].read_text(errors="replace")
    assert "<svg" in svg[:2000] and files["svg"].stat().st_size > 2000

    # tables on their own, without the zip
    page.get_by_role("button", name="Tables (CSV + LaTeX)").click()
    page.get_by_role("button").filter(has_text="history.csv (").first.wait_for(timeout=120_000)
    for name in ("history.csv", "groups.tex"):
        with page.expect_download() as download:
            page.get_by_role("button").filter(has_text=f"{name} (").first.click()
        target = runs.parent / f"download-{name}"
        download.value.save_as(target)
        files[name] = target
    assert files["history.csv"].read_text().startswith("Iter.,Concept,")
    assert "\\toprule" in files["groups.tex"].read_text()


def test_readme_figure_is_an_exported_poly_map(planted_runs, tmp_path, chromium_path):
    """The README's figure: the planted OR unit's poly map, exported as PNG through kaleido."""
    png = export_figures(planted_runs["or"], ("png",), out_dir=tmp_path, backend="kaleido")
    figure = next(p for p in png if p.name == "poly_map.png")
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    readme_asset(figure, "figure-poly-map.png")


@pytest.mark.parametrize(
    ("name", "path", "expect"),
    [
        ("07_runs", "/runs", "runs folder"),
        ("08_neuron", "/neuron", "Random-concept baseline"),
        ("09_compare", "/compare", "Jaccard overlap"),
        ("10_layers", "/layers", "Polysemanticity ="),
    ],
)
def test_browse_views_render(server, page, name, path, expect):
    base, _ = server
    page.goto(base + path)
    page.get_by_text(expect, exact=False).first.wait_for(timeout=120_000)
    settle(page, 2.5)
    assert_no_error(page)
    shot(page, name)


def test_bad_link_is_one_clear_error(server, page):
    base, _ = server
    page.goto(base + "/neuron?run=no-such-run")
    page.get_by_text("was not found", exact=False).first.wait_for(timeout=60_000)
    settle(page, 1.0)
    assert page.locator("[data-testid='stException']").count() == 0
    assert "Traceback" not in main_text(page)
    shot(page, "11_bad_link")
