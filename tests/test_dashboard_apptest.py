"""Every dashboard view through Streamlit's AppTest, on run folders and on the real offline stack.

Browse views read synthetic run folders (``run_fixtures.write_run``); the Explore tests start
real runs (EfficientNet-Lite0, procedural renderer, lexicon proposer) in worker processes with
small iteration counts, exactly as a user would.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
from run_fixtures import write_run
from streamlit.testing.v1 import AppTest

from line_core.events import PoolUpdated
from line_core.history import build_history
from line_core.store import RunStore
from line_core.worker import worker_alive, worker_pid

pytestmark = pytest.mark.slow  # every AppTest imports the app and runs it: seconds each

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")


@pytest.fixture
def runs(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "runs"
    root.mkdir()
    monkeypatch.setenv("LINE_RUNS_DIR", str(root))
    return root


@pytest.fixture
def fixture_runs(runs) -> tuple[Path, Path]:
    return write_run(runs, "mono"), write_run(runs, "or")


def open_page(page: str | None = None, timeout: float = 120, **params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=timeout)
    for key, value in params.items():
        at.query_params[key] = value
    if page:
        at.switch_page(f"views/{page}.py")
    return at.run()


def assert_clean(at: AppTest) -> None:
    """No uncaught exception (a traceback) and no st.error on the page."""
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [str(m.value) for m in at.metric] + [m.label for m in at.metric]
    return "\n".join(parts)


def folder_digest(path: Path) -> dict[str, int]:
    return {str(p.relative_to(path)): p.stat().st_size for p in path.rglob("*") if p.is_file()}


# -- browse views on run folders ---------------------------------------------------------------
def test_runs_gallery_groups_searches_and_sorts(fixture_runs):
    at = open_page("runs")
    assert_clean(at)
    assert "synthetic · _conv_head" in [h.value for h in at.subheader]
    assert "2 of 2 runs" in texts(at)
    at.text_input(key="runs_search").input("no such label").run()
    assert "0 of 2 runs" in texts(at)
    at.text_input(key="runs_search").input("red").run()
    at.selectbox(key="runs_sort").select("Label (A–Z)").run()
    assert_clean(at)
    assert "2 of 2 runs" in texts(at)


def test_neuron_page_from_url_shows_history_and_interventions(fixture_runs):
    mono, _ = fixture_runs
    at = open_page("neuron", run=mono.name, layer="_conv_head", unit="7")
    assert_clean(at)
    body = texts(at)
    assert "unit 7" in body and "Random-concept baseline" in body
    assert at.query_params["run"] == [mono.name] or at.query_params["run"] == mono.name
    assert "pink flowers" in body  # the user-supplied concept is listed as ours
    assert any("proposed by you" in c.value for c in at.caption)
    assert len(at.dataframe) >= 1


def test_neuron_page_by_unit_link_and_bad_links(fixture_runs):
    _, newest = fixture_runs
    at = open_page("neuron", layer="_conv_head", unit="7")
    assert_clean(at)
    assert at.selectbox(key="nr_run").value == newest.name
    missing = open_page("neuron", run="no-such-run")
    assert not missing.exception
    assert any("was not found" in e.value for e in missing.error)
    outside = open_page("neuron", run="../../etc")
    assert not outside.exception and outside.error


def test_corrupt_run_folder_is_one_error_and_nothing_changes(fixture_runs, runs):
    broken = runs / "broken-run"
    broken.mkdir()
    (broken / "manifest.json").write_text("{ not json")
    before = folder_digest(runs)
    at = open_page("runs")
    assert not at.exception
    assert "2 of 2 runs" in texts(at)
    assert any("unreadable run folder" in e.label for e in at.expander)
    at = open_page("neuron", run="broken-run")
    assert not at.exception
    assert len(at.error) == 1 and "broken-run" in at.error[0].value
    assert folder_digest(runs) == before


def test_real_exemplars_from_a_control_folder(fixture_runs, tmp_path):
    from PIL import Image

    mono, _ = fixture_runs
    manifest = json.loads((mono / "manifest.json").read_text())
    n = manifest["control"]["size"]
    folder = tmp_path / "control"
    for cls in ("apples", "boats"):
        (folder / cls).mkdir(parents=True)
    for i in range(n):
        cls = "apples" if i < n // 2 else "boats"
        Image.new("RGB", (16, 16), (10 * (i % 25), 40, 90)).save(folder / cls / f"{i:03d}.png")
    manifest["config"]["control"] = str(folder)
    (mono / "manifest.json").write_text(json.dumps(manifest))
    at = open_page("neuron", run=mono.name)
    assert_clean(at)
    captions = [c.value for c in at.caption]
    assert any("responds to most (real photos)" in c for c in captions)
    values = manifest["control"]["activations"]
    top = max(values)
    # the best exemplar is captioned with its class and the unit's top control activation
    protos = [str(img.proto) for img in at.image]
    assert any(f"act {top:.2f}" in p and ("apples ·" in p or "boats ·" in p) for p in protos)


def test_rerun_of_an_unloadable_run_is_one_error(fixture_runs, runs):
    mono, _ = fixture_runs
    at = open_page("neuron", run=mono.name)
    before = sorted(p.name for p in runs.iterdir())
    at.button(key="nr_rerun").click().run()
    assert not at.exception
    assert len(at.error) == 1 and "synthetic" in at.error[0].value
    assert sorted(p.name for p in runs.iterdir()) == before


def test_compare_two_runs(fixture_runs):
    mono, other = fixture_runs
    at = open_page("compare", a=mono.name, b=other.name)
    assert_clean(at)
    body = texts(at)
    assert "Jaccard overlap" in body and "**A** · " in body and "**B** · " in body
    assert len(at.get("plotly_chart")) == 1


def test_polysemanticity_view_shows_groups_definition_and_map(fixture_runs):
    _, two_meanings = fixture_runs
    at = open_page("polysemanticity", run=two_meanings.name)
    assert_clean(at)
    body = texts(at)
    assert "Polysemanticity score" in body and "Distinct meanings" in body
    assert "Group 1" in body and "Group 2" in body
    assert any("effective number of meanings" in c.value for c in at.caption)
    assert len(at.get("plotly_chart")) == 1
    assert len(at.latex) == 1
    at.slider(key="po_threshold").set_value(0.9).run()  # merge more: fewer groups
    assert_clean(at)


def test_layer_overview_sorts_by_score_and_polysemanticity(fixture_runs):
    at = open_page("layers")
    assert_clean(at)
    frame = at.dataframe[0].value
    assert {"unit", "label", "AUC", "polysemanticity", "open"} <= set(frame.columns)
    assert len(frame) == 2
    at.selectbox(key="ly_sort").select("polysemanticity").run()
    frame = at.dataframe[0].value
    assert list(frame["polysemanticity"]) == sorted(frame["polysemanticity"], reverse=True)


def test_export_page_writes_pdf_and_svg(fixture_runs):
    mono, _ = fixture_runs
    at = open_page("export", run=mono.name, timeout=300)
    assert_clean(at)
    at.button(key="xp_go").click().run(timeout=300)
    assert_clean(at)
    written = sorted((mono / "export").glob("*"))
    pdfs = [p for p in written if p.suffix == ".pdf"]
    svgs = [p for p in written if p.suffix == ".svg"]
    assert pdfs and svgs
    assert all(p.read_bytes()[:5] == b"%PDF-" and p.stat().st_size > 2000 for p in pdfs)
    assert all(b"<svg" in p.read_bytes()[:2000] and p.stat().st_size > 2000 for p in svgs)
    assert len(at.get("download_button")) == len(written)


# -- explore on the real offline stack ----------------------------------------------------------
def _wait(at: AppTest, done, seconds: float = 240.0) -> AppTest:
    deadline = time.time() + seconds
    while time.time() < deadline:
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        if done(at):
            return at
        time.sleep(1.0)
    raise AssertionError(f"timed out; page said: {texts(at)[-800:]}")


def _history(run_dir: Path):
    return build_history(RunStore.open(run_dir).events())


def _finished(run_dir: Path):
    """A condition for _wait: the run finished, its worker exited, the page says so."""
    return lambda at: (
        _history(run_dir).finished is not None
        and not worker_alive(run_dir)
        and "**finished** in" in texts(at)
    )


def default_unit() -> int:
    from line_core.targets import load_target

    return int(load_target("efficientnet_lite0").default_neuron)


def _stop_worker(run_dir: Path) -> None:
    pid = worker_pid(run_dir)
    if pid and worker_alive(run_dir):
        os.kill(pid, signal.SIGTERM)


@pytest.fixture
def started(runs):
    """The Explore page after starting the default run with 2 iterations (and its folder)."""
    at = open_page(timeout=300)
    assert_clean(at)
    assert at.selectbox(key="ex_model").value == "efficientnet_lite0"
    assert at.selectbox(key="ex_layer").value == "_conv_head"
    assert at.number_input(key="ex_neuron").value == default_unit()
    assert at.selectbox(key="ex_proposer").value == "lexicon"
    at.number_input(key="ex_iterations").set_value(2)
    at.button(key="ex_start").click().run(timeout=300)
    assert_clean(at)
    run_dir = runs / at.query_params["run"][0] if isinstance(at.query_params["run"], list) \
        else runs / at.query_params["run"]
    assert (run_dir / "manifest.json").is_file()
    yield at, run_dir
    _stop_worker(run_dir)


def test_explore_runs_live_and_a_user_concept_enters_the_pool(started):
    at, run_dir = started
    # inject while the run is live: the worker scores it between stages
    at.text_area(key="ex_steer_inject_text").input("yellow tiles")
    next(b for b in at.button if b.label == "Inject").click().run()
    assert not at.exception
    commands = RunStore(run_dir).commands()
    assert commands and commands[-1]["action"] == "inject"
    _wait(at, _finished(run_dir))
    assert_clean(at)
    history = _history(run_dir)
    user = [r for r in history.records if r.source == "user"]
    assert [r.concept for r in user] == ["yellow tiles"]
    assert any(
        isinstance(e, PoolUpdated) and e.added == "yellow tiles" and "yellow tiles" in e.pool
        for e in RunStore.open(run_dir).events()
    )
    assert any(a.action == "inject" for a in history.actions)
    body = texts(at)
    assert "Random-concept baseline" in body and "AUC [90% CI]" in body
    assert "last iteration" in body
    assert len(at.get("plotly_chart")) == 2  # score curve + activation chart
    assert len(at.image) >= 1  # the iterations' images, captioned with activations


def test_explore_steer_a_finished_run_rescore_and_ban(started):
    at, run_dir = started
    _wait(at, _finished(run_dir))
    best = _history(run_dir).best().concept
    at.selectbox(key="ex_steer_rescore_concept").select(best)
    at.number_input(key="ex_steer_rescore_n").set_value(6)
    next(b for b in at.button if b.label == "Re-score").click().run()
    assert not at.exception
    banned = _history(run_dir).current_pool()[-1].concept
    at.selectbox(key="ex_steer_ban_concept").select(banned)
    next(b for b in at.button if b.label == "Ban").click().run()
    assert not at.exception
    _wait(at, lambda a: {"rescore", "ban"} <= {x.action for x in _history(run_dir).actions}
          and _finished(run_dir)(a))
    history = _history(run_dir)
    rescored = [r for r in history.records if r.concept == best]
    assert len(rescored) == 2 and len(rescored[-1].activations) == 6
    assert banned not in [r.concept for r in history.current_pool()]


def test_preflight_warns_and_offers_start_anyway(runs):
    at = open_page(timeout=300)
    at.expander  # noqa: B018 - the advanced settings live in an expander; widgets are reachable
    at.number_input(key="ex_control_size").set_value(12)
    at.button(key="ex_check_btn").click().run(timeout=300)
    assert not at.exception
    assert any("only 12 images" in w.value for w in at.warning)
    at.button(key="ex_start").click().run(timeout=300)
    assert any(b.key == "ex_start_anyway" for b in at.button)
    assert not list(runs.iterdir())  # nothing started yet


def test_find_neurons_ranks_units_and_picks_one(runs):
    at = open_page(timeout=300)
    at.text_input(key="ex_find_concept").input("yellow checkerboard")
    next(b for b in at.button if b.label == "Rank units").click().run(timeout=300)
    assert_clean(at)
    found = at.session_state["ex_found"]
    assert len(found) == 15 and all(0 <= row["unit"] < 1280 for row in found)
    aucs = [row["AUC"] for row in found]
    assert aucs == sorted(aucs, reverse=True)
    second = found[1]["unit"]
    at.selectbox(key="ex_found_pick").select(second)
    at.button(key="ex_found_use").click().run()
    assert_clean(at)
    assert at.number_input(key="ex_neuron").value == second


@pytest.mark.parametrize(
    ("widget", "value", "words"),
    [
        ("model", "no_such_pkg.models:build", ["no_such_pkg"]),
        ("generator", "sd-turbo", ["sd-turbo"]),
    ],
)
def test_bad_choices_are_one_clear_error(runs, widget, value, words):
    at = open_page(timeout=300)
    if widget == "model":
        at.selectbox(key="ex_model").select("custom").run()
        at.text_input(key="ex_model_spec").input(value).run(timeout=300)
    else:
        at.selectbox(key="ex_generator").select(value).run()
        at.button(key="ex_start").click().run(timeout=300)
    assert not at.exception
    assert len(at.error) == 1
    assert all(w in at.error[0].value for w in words), at.error[0].value
    assert "Traceback" not in at.error[0].value
    assert not list(runs.iterdir())


def test_unit_out_of_range_in_the_url_is_an_error(runs):
    at = open_page(timeout=300, layer="_conv_head", unit="5000")
    assert not at.exception
    assert any("out of range" in e.value and "0..1279" in e.value for e in at.error)
    assert at.number_input(key="ex_neuron").value == default_unit()


def test_review_mode_waits_for_the_researcher(runs):
    at = open_page(timeout=300)
    at.number_input(key="ex_iterations").set_value(1)
    at.toggle(key="ex_review").set_value(True)
    at.toggle(key="ex_summary").set_value(False)
    at.button(key="ex_start").click().run(timeout=300)
    run_dir = runs / next(iter(os.listdir(runs)))
    try:
        _wait(at, lambda a: any(t.key == "review_1" for t in a.text_input))
        at.text_input(key="review_1").input("golden grid")
        next(b for b in at.button if b.label == "Accept").click().run()
        _wait(at, _finished(run_dir))
        history = _history(run_dir)
        assert [r.concept for r in history.records if r.iteration == 1] == ["golden grid"]
        accept = [a for a in history.actions if a.action == "accept"]
        assert accept and "edited from" in accept[0].detail
        assert json.loads((run_dir / "manifest.json").read_text())["config"]["review"] is True
    finally:
        _stop_worker(run_dir)


def test_stop_resume_and_reattach_from_the_url(runs):
    at = open_page(timeout=300)
    at.selectbox(key="ex_model").select("planted").run(timeout=300)
    at.selectbox(key="ex_layer").select("units").run()
    at.number_input(key="ex_neuron").set_value(0)
    at.number_input(key="ex_iterations").set_value(3)
    at.button(key="ex_start").click().run(timeout=300)
    # planted unit 0 (red) is silent on most control images: the pre-flight says so
    assert any("mostly inactive" in w.value for w in at.warning)
    at.button(key="ex_start_anyway").click().run(timeout=300)
    assert_clean(at)
    run_dir = runs / next(iter(os.listdir(runs)))
    try:
        _wait(at, lambda a: _history(run_dir).last_completed_iteration >= 0)
        at.button(key="ex_stop").click().run()
        _wait(at, lambda a: not worker_alive(run_dir) and any(
            b.key == "ex_resume" for b in a.button))
        assert _history(run_dir).finished is None
        # a new browser session (a reload) with the run in the URL reattaches to it
        again = open_page(timeout=300, run=run_dir.name)
        assert_clean(again)
        assert "**stopped** after" in texts(again)
        again.button(key="ex_resume").click().run()
        _wait(again, _finished(run_dir))
        history = _history(run_dir)
        assert history.last_completed_iteration == 4  # 3 iterations + summary after iteration 0
        assert [a.action for a in history.actions] == ["stop"]
        # one click re-runs it from its manifest and lands on the comparison of the two
        page = open_page("neuron", timeout=300, run=run_dir.name)
        page.button(key="nr_rerun").click().run(timeout=300)
        assert_clean(page)
        again_dir = next(p for p in runs.iterdir() if p != run_dir)
        try:
            old = json.loads((run_dir / "manifest.json").read_text())["config"]
            new = json.loads((again_dir / "manifest.json").read_text())["config"]
            assert old == new
            assert page.selectbox(key="cmp_b_run").value == again_dir.name
            assert page.selectbox(key="cmp_a_run").value == run_dir.name
        finally:
            _stop_worker(again_dir)
    finally:
        _stop_worker(run_dir)


def test_a_command_that_missed_the_loop_is_applied_when_the_page_sees_it(runs):
    from line_core.config import ExplainConfig
    from line_core.runs import new_run

    config = ExplainConfig(model="planted", layer="units", neuron=2, iterations=0,
                           summary=False, runs_dir=str(runs))
    explainer = new_run(config)
    for _ in explainer.run():
        pass
    run_dir = explainer.store.run_dir
    RunStore(run_dir).post_command("inject", concepts=["blue stripes"])  # after the loop ended
    at = open_page(timeout=300, run=run_dir.name)
    try:
        _wait(at, lambda a: any(r.source == "user" for r in _history(run_dir).records)
              and _finished(run_dir)(a))
        assert_clean(at)
        assert "Your concepts" in texts(at) and "blue stripes" in texts(at)
    finally:
        _stop_worker(run_dir)
