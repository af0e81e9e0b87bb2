"""The Evaluate page: an evaluation of the planted model started from the page (AppTest) and in
a real headless Chromium (screenshots), and an evaluation folder opened from disk.

Label sources are the run store's fixture runs (made by the real loop on the planted model),
two label CSVs written by the test (one typed as a path, one uploaded in the browser test) and,
for the two-regime report, a folder of natural photo crops.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest
from test_dashboard_browser import page, server  # noqa: F401 - fixtures of the browser test
from test_dashboard_fixture_runs import copy_runs, pristine_runs
from test_evaluation import label_csvs

from line_core.control import write_photo_crops
from line_core.engine.evaluate import evaluate

pytestmark = pytest.mark.slow

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")
#: Right labels of planted units 0, 5, 8, 12 (CLIP-Dissect) and mostly wrong ones (INVERT).
RIGHT = {0: "red", 5: "horizontal stripes", 8: "checkerboard", 12: "vertical stripes"}
WRONG = {0: "crimson", 5: "blue", 8: "polka dots", 12: "green"}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> dict[str, Path]:
    return pristine_runs(tmp_path_factory)


@pytest.fixture
def store(tmp_path, monkeypatch, pristine) -> Path:
    """A runs folder with the fixture runs; evaluations go beside it."""
    runs = tmp_path / "runs"
    copy_runs(pristine, runs)
    monkeypatch.setenv("LINE_RUNS_DIR", str(runs))
    return tmp_path


def labels(root: Path) -> tuple[Path, Path]:
    return label_csvs(root / "labels", RIGHT, WRONG)


def open_page(**params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=300)
    for key, value in params.items():
        at.query_params[key] = value
    at.switch_page("views/evaluate.py")
    return at.run()


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def run_until_done(at: AppTest, seconds: float = 300) -> AppTest:
    """Rerun (each run polls the job's fragment once) until the report replaces the progress."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        at.run()
        if any(m.value == "#### Methods" for m in at.markdown) or at.error:
            return at
        time.sleep(0.5)
    raise AssertionError("the evaluation did not finish")


def test_an_evaluation_started_from_the_page(store):
    right, wrong = labels(store)
    at = open_page(model="planted", layer="units")
    assert_clean(at)
    assert at.selectbox(key="ev_model").value == "planted"
    assert at.selectbox(key="ev_layer").value == "units"
    assert at.checkbox(key="ev_use_runs").value  # the fixture runs of planted/units
    at.text_area(key="ev_sources").input(f"{right}\n{wrong}")
    at.number_input(key="ev_images").set_value(4)
    at.button(key="ev_go").click()
    at = run_until_done(at)
    assert_clean(at)
    methods = at.dataframe[0].value
    assert set(methods["method"]) == {"LINE (lexicon)", "CLIP-Dissect", "INVERT"}
    assert set(methods["control"]) == {"generator"}
    by_method = methods.set_index("method")
    assert by_method.loc["CLIP-Dissect", "AUC"] > by_method.loc["INVERT", "AUC"]
    tests = at.dataframe[1].value
    pair = tests[(tests["method A"] == "CLIP-Dissect") & (tests["method B"] == "INVERT")]
    assert len(pair) == 2 and pair["p"].notna().all()
    assert set(pair["Holm, α 0.05"]) <= {"significant", "not significant"}
    assert len(at.get("plotly_chart")) == 1  # the per-neuron scatter
    assert at.selectbox(key="ev_a").value != at.selectbox(key="ev_b").value
    out = store / "evaluations" / "planted-units"
    assert (out / "results.csv").is_file() and (out / "comparison.tex").is_file()
    downloads = [d for d in at.get("download_button")]
    assert len(downloads) == 5


def test_a_bad_source_is_one_error_and_writes_nothing(store):
    at = open_page(model="planted", layer="units")
    at.checkbox(key="ev_use_runs").uncheck()
    at.text_area(key="ev_sources").input(str(store / "nope.csv"))
    at.number_input(key="ev_images").set_value(3)
    at.button(key="ev_go").click()
    at = run_until_done(at)
    assert not at.exception
    assert len(at.error) == 1 and "nope.csv" in at.error[0].value
    assert not (store / "evaluations" / "planted-units").exists()


def test_an_evaluation_folder_opens_with_both_regimes(store):
    right, wrong = labels(store)
    photos = write_photo_crops(store / "photos", count=12, size=64)
    out = store / "evaluations" / "two-regimes"
    evaluate(
        "planted",
        "units",
        [str(right), str(wrong)],
        n_images=4,
        out_dir=out,
        natural_control=str(photos),
    )
    at = open_page()
    assert at.selectbox(key="ev_pick").options == ["two-regimes"]
    at.selectbox(key="ev_pick").set_value(str(out)).run()  # picking one opens it
    assert_clean(at)
    methods = at.dataframe[0].value
    assert sorted(set(methods["control"])) == ["generator", "natural"]
    assert len(methods) == 4
    assert at.selectbox(key="ev_control").options == ["generator-matched control", "natural images"]
    at.selectbox(key="ev_control").set_value("natural")
    at.selectbox(key="ev_metric").set_value("mad").run()
    assert_clean(at)
    assert len(at.get("plotly_chart")) == 1
    text = "\n".join(c.value for c in at.caption) + "\n".join(s.value for s in at.success)
    assert "AUC ≥ 0.8 against natural images" in text  # the collapse rule, flags or none
    at.text_input(key="ev_typed").input(str(store))  # not an evaluation folder
    at.button(key="ev_open_btn").click().run()
    assert len(at.error) == 1 and "not an evaluation folder" in at.error[0].value


# -- in a real headless Chromium ----------------------------------------------------------------
def _wait_for(tab, text: str, seconds: float = 300) -> None:
    from test_dashboard_browser import main_text

    deadline = time.time() + seconds
    while text not in main_text(tab):
        if time.time() > deadline:
            raise AssertionError(f"{text!r} never showed:\n{main_text(tab)[:3000]}")
        time.sleep(0.5)


@pytest.mark.browser
def test_the_evaluate_page_in_a_browser(server, page, tmp_path):  # noqa: F811
    """Start an evaluation from the page (typed CSV, uploaded CSV, the run store's runs, a
    natural-image folder); the tables and the scatter appear. Screenshots: tmp_path/shots."""
    from test_dashboard_browser import assert_no_error, main_text, settle

    base, runs = server
    right, wrong = labels(tmp_path)
    upload = tmp_path / "upload" / "INVERT.csv"
    upload.parent.mkdir()
    upload.write_text(wrong.read_text())
    photos = write_photo_crops(tmp_path / "photos", count=12, size=64)
    shots = tmp_path / "shots"
    shots.mkdir()
    tab = page
    tab.goto(f"{base}/evaluate?model=planted&layer=units")
    _wait_for(tab, "Runs of this layer")
    settle(tab)
    assert_no_error(tab)
    sources = tab.get_by_label("More sources, one per line", exact=True)
    sources.fill(str(right))
    sources.press("Control+Enter")
    tab.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(upload))
    _wait_for(tab, "INVERT.csv")
    natural = tab.get_by_label("Natural-image control folder (optional)", exact=True)
    natural.fill(str(photos))
    natural.press("Enter")
    images = tab.get_by_label("Fresh images per label", exact=True)
    images.fill("4")
    images.press("Enter")
    settle(tab, 1.0)
    tab.screenshot(path=str(shots / "evaluate-setup.png"))
    tab.get_by_role("button", name="Evaluate").click()
    _wait_for(tab, "Per neuron")
    tab.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    settle(tab, 2.5)
    tab.screenshot(path=str(shots / "evaluate-report.png"))
    chart = tab.locator(".js-plotly-plot")
    chart.first.screenshot(path=str(shots / "evaluate-scatter.png"))
    tab.get_by_text("Per neuron", exact=True).scroll_into_view_if_needed()
    settle(tab, 1.0)
    tab.screenshot(path=str(shots / "evaluate-report-lower.png"))
    assert_no_error(tab)
    text = main_text(tab)
    assert "Paired tests" in text and "Collapse under the generator-matched control" in text
    assert chart.count() == 1
    assert chart.locator(".scatterlayer .point").count() >= 3  # the units of A and B
    assert tab.locator("[data-testid='stDownloadButton']").count() == 5
    out = runs.parent / "evaluations" / "planted-units"
    assert (out / "results.parquet").is_file()
    assert set(pd.read_parquet(out / "results.parquet")["method"]) == {
        "LINE (lexicon)",
        "CLIP-Dissect",
        "INVERT",
    }
