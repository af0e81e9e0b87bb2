"""Unit pages, search, the layer table and the Explore URL in a real headless Chromium.

A server of its own (with its own concept atlas folder, where a small atlas of the planted layer
is built) serves the three fixture runs; every page is screenshotted to
``artifacts/screenshots/`` for a human to look at.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from dashboard_server import assert_no_view_error, dashboard_server, readme_asset
from test_dashboard_browser import (
    CHROMIUM_ARGS,
    SHOTS,
    VIEWPORT,
    assert_no_error,
    main_text,
    settle,
    shot,
)
from test_dashboard_fixture_runs import copy_runs, pristine_runs

from line_core import engine
from line_core.config import ExplainConfig
from line_core.record import Accept, list_runs

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """A server over the fixture runs, with a built atlas of planted/units of its own."""
    root = tmp_path_factory.mktemp("browse-browser")
    runs = root / "runs"
    copy_runs(pristine_runs(tmp_path_factory), runs)
    atlas_dir = root / "atlas"
    previous = os.environ.get("LINE_ATLAS_DIR")
    os.environ["LINE_ATLAS_DIR"] = str(atlas_dir)
    try:
        from line_core.atlas.vocabulary import procedural_grammar

        words = root / "words.txt"
        words.write_text("\n".join(procedural_grammar()[:60]), encoding="utf-8")
        engine.atlas.build("planted", "units", "procedural", str(words), images_per_concept=2)
    finally:
        if previous is None:
            os.environ.pop("LINE_ATLAS_DIR")
        else:
            os.environ["LINE_ATLAS_DIR"] = previous
    log_path = root / "server.log"
    with dashboard_server(runs, log_path, env={"LINE_ATLAS_DIR": str(atlas_dir)}) as base:
        yield base, runs
    assert_no_view_error(log_path)


@pytest.fixture(scope="module")
def page(chromium_path, server):
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport=VIEWPORT)
        tab = context.new_page()
        tab.set_default_timeout(120_000)
        yield tab
        context.close()
        browser.close()


def wait_for(tab, text: str, seconds: float = 120) -> None:
    deadline = time.time() + seconds
    while text not in main_text(tab):
        if time.time() > deadline:
            raise AssertionError(f"{text!r} never showed:\n{main_text(tab)[:3000]}")
        time.sleep(0.5)


def metric_value(tab, label: str, seconds: float = 60) -> str:
    """A metric's value (retried while the page reruns and redraws its metrics)."""
    deadline = time.time() + seconds
    while True:
        try:
            for box in tab.locator("[data-testid='stMetric']").all():
                if box.locator("[data-testid='stMetricLabel']").inner_text(
                        timeout=2000).strip() == label:
                    return box.locator("[data-testid='stMetricValue']").inner_text(
                        timeout=2000).strip()
        except Exception:  # noqa: BLE001, S110 - an element replaced by a rerun: look again
            pass
        if time.time() > deadline:
            raise AssertionError(f"no metric {label!r}:\n{main_text(tab)[:2000]}")
        time.sleep(0.5)


def test_unit_page(server, page):
    base, _ = server
    page.goto(f"{base}/unit?model=planted&layer=units&unit=0")
    wait_for(page, "Best label across runs")
    wait_for(page, "Top concepts in the layer's concept atlas")
    wait_for(page, "real photos")
    deadline = time.time() + 60  # images arrive after the text
    while page.locator("[data-testid='stMain'] img").count() < 10:
        assert time.time() < deadline, "the unit page shows too few images"
        time.sleep(0.5)
    settle(page, 2.5)
    readme_asset(shot(page, "20_unit_page"), "unit-page.png")
    assert_no_error(page)
    assert metric_value(page, "Runs") == "2"


def test_unit_and_neuron_pages_follow_a_live_run(server, page):
    """A run waiting for review is live; each Accept makes it score one more concept, and
    both pages show it without a reload."""
    base, runs = server
    config = ExplainConfig(model="planted", layer="units", neuron=12, iterations=2,
                           review=True, summary=False, runs_dir=str(runs))
    run_dir = engine.start_in_background(config).run_dir
    deadline = time.time() + 240
    while engine.status(run_dir).word != "review":  # models load in the worker: a minute
        assert time.time() < deadline, engine.status(run_dir)
        time.sleep(0.5)
    page.goto(f"{base}/unit?model=planted&layer=units&unit=12")
    wait_for(page, "Live: this page follows the run")
    settle(page, 1.0)
    before = int(metric_value(page, "Concepts tried"))
    neuron = page.context.new_page()
    neuron.goto(f"{base}/neuron?run={run_dir.name}")
    wait_for(neuron, "Live: this page follows the run")
    neuron_before = int(metric_value(neuron, "Concepts tried"))
    engine.steer(run_dir, Accept())
    deadline = time.time() + 120
    while int(metric_value(page, "Concepts tried")) <= before:
        assert time.time() < deadline, "the unit page did not follow the run"
        time.sleep(0.5)
    while int(metric_value(neuron, "Concepts tried")) <= neuron_before:
        assert time.time() < deadline, "the neuron page did not follow the run"
        time.sleep(0.5)
    settle(page, 1.0)
    shot(page, "21_unit_page_live")
    shot(neuron, "22_neuron_page_live")
    neuron.close()
    engine.steer(run_dir, Accept())
    deadline = time.time() + 120
    while engine.status(run_dir).word != "finished":
        if engine.status(run_dir).word == "review":
            engine.steer(run_dir, Accept())
            time.sleep(2.0)
        assert time.time() < deadline
        time.sleep(0.5)


def test_search_which_units_respond_to_stripes(server, page):
    base, _ = server
    page.goto(f"{base}/search?q=which+units+respond+to+stripes%3F")
    wait_for(page, "respond to 'stripes'", seconds=180)
    settle(page, 2.0)
    assert_no_error(page)
    text = main_text(page)
    assert "unit(s) respond to 'stripes'" in text
    shot(page, "23_search_stripes")


def test_layer_page_every_unit_and_a_sweep(server, page):
    base, runs = server
    page.goto(f"{base}/layers?model=planted&layer=units")
    wait_for(page, "one row per unit", seconds=180)
    settle(page, 2.5)
    assert_no_error(page)
    shot(page, "24_layer_page")
    grid = page.locator("[data-testid='stDataFrame']").first
    box = grid.bounding_box()
    for row in (3, 5):  # tick two rows' checkboxes (the grid is a canvas: click by position)
        page.mouse.click(box["x"] + 18, box["y"] + 35 + 35 * row + 17)
        time.sleep(1.5)
    button = page.get_by_role("button", name="Explain 2 selected unit(s)")
    button.wait_for(timeout=60_000)
    settle(page, 1.0)
    shot(page, "25_layer_page_selected")
    before = set(list_runs(runs))
    button.click()
    wait_for(page, "Sweep of 2 unit(s) started", seconds=180)
    deadline = time.time() + 300
    while True:
        new = [p for p in list_runs(runs) if p not in before]
        if len(new) == 2 and all(engine.history(p).finished for p in new):
            break
        assert time.time() < deadline, "the sweep did not finish"
        time.sleep(1.0)
    page.reload()
    wait_for(page, "one row per unit", seconds=180)
    settle(page, 2.5)
    shot(page, "26_layer_page_after_sweep")


def test_explore_url_and_unit_input(server, page):
    base, _ = server
    page.goto(f"{base}/?model=planted&layer=units&unit=5")
    page.get_by_role("button", name="Start run").wait_for()
    settle(page, 1.5)
    assert_no_error(page)
    assert page.get_by_label("Unit (0–").input_value() == "5"
    page.goto(f"{base}/?unit=500")
    page.get_by_role("button", name="Start run").wait_for()
    settle(page, 1.5)
    assert_no_error(page)
    assert page.get_by_label("Unit (0–").input_value() == "500"
    shot(page, "27_explore_url_unit")
    field = page.get_by_label("Unit (0–")
    field.fill("5000")
    page.get_by_role("button", name="Check setup").click()
    wait_for(page, "Unit 5000 is out of range")
    settle(page, 1.5)
    text = main_text(page)
    assert "0..1279" in text and "Pre-flight passed" not in text
    assert page.get_by_role("button", name="Check setup").count() == 0
    shot(page, "28_explore_unit_out_of_range")
    page.goto(f"{base}/?layer=_conv_stem&unit=500")
    wait_for(page, "out of range")
    assert "0..31" in main_text(page) and "_conv_stem" in main_text(page)
    page.goto(f"{base}/runs")
    wait_for(page, "runs folder")
    settle(page, 2.0)
    shot(page, "29_gallery_dates")
