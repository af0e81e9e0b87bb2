"""The Explore setup's concept-atlas panel in a real headless Chromium: no atlas yet, a build
started from the page (running in the background), then a built atlas."""

from __future__ import annotations

import os
import signal
import time

import pytest
from dashboard_server import assert_no_view_error, dashboard_server
from test_dashboard_browser import (
    CHROMIUM_ARGS,
    SHOTS,
    VIEWPORT,
    assert_no_error,
    main_text,
    settle,
    shot,
)

from line_core.config import DEFAULT_MODEL
from line_core.record.lock import live_writer

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _wait_for(tab, text: str, seconds: float = 120) -> None:
    deadline = time.time() + seconds
    while text not in main_text(tab):
        if time.time() > deadline:
            raise AssertionError(f"{text!r} never showed:\n{main_text(tab)[:3000]}")
        time.sleep(0.5)


def test_the_setup_shows_builds_and_uses_the_layers_atlas(tmp_path, chromium_path, monkeypatch):
    from playwright.sync_api import sync_playwright

    atlases = tmp_path / "atlas"
    monkeypatch.setenv("LINE_ATLAS_DIR", str(atlases))
    runs = tmp_path / "runs"
    runs.mkdir()
    log_path = tmp_path / "server.log"
    SHOTS.mkdir(parents=True, exist_ok=True)
    with dashboard_server(runs, log_path) as base:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium_path,
                                                 args=CHROMIUM_ARGS)
            tab = browser.new_page(viewport=VIEWPORT)
            tab.set_default_timeout(120_000)
            tab.goto(base)
            _wait_for(tab, "No broad first look")
            settle(tab)
            assert_no_error(tab)
            shot(tab, "atlas-none")
            tab.get_by_role("button", name="Build concept atlas").click()
            _wait_for(tab, "concepts stored so far")
            settle(tab, 0.5)
            shot(tab, "atlas-building")
            folders = [p for p in atlases.iterdir() if p.is_dir()]
            assert len(folders) == 1
            builder = live_writer(folders[0])
            assert builder is not None and "atlas build" in builder.command
            os.kill(builder.pid, signal.SIGKILL)  # the whole grammar takes minutes on 2 cores
            # a smaller build finishes the atlas (what the button's build does, in-process)
            from line_core.atlas.vocabulary import procedural_grammar
            from line_core.engine import atlas as atlas_door

            words = tmp_path / "words.txt"
            words.write_text("\n".join(procedural_grammar()[:60]), encoding="utf-8")
            built = atlas_door.build(DEFAULT_MODEL, _default_layer(), "procedural", str(words))
            assert built.atlas.folder == folders[0]  # the page's atlas: the same key
            tab.reload()
            _wait_for(tab, "Runs start from this unit's top concepts")
            settle(tab)
            assert_no_error(tab)
            text = main_text(tab)
            assert "Building" not in text and "60 concepts" in text.replace(",", "")
            shot(tab, "atlas-built")
            browser.close()
    assert_no_view_error(log_path)


def _default_layer() -> str:
    from line_core.targets import load_target

    layer = load_target(DEFAULT_MODEL).default_layer
    assert layer
    return layer
