"""Every dashboard view through Streamlit's AppTest, on real run folders and the real offline stack.

Browse views read runs made by the real loop on the planted model
(``test_dashboard_fixture_runs``: built once per session, copied per test); the Explore tests
start real runs (EfficientNet-Lite0, procedural renderer, lexicon proposer) in worker processes
with small iteration counts, exactly as a user would.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from test_dashboard_fixture_runs import copy_runs, pristine_runs

from line_core import engine
from line_core.config import ExplainConfig
from line_core.record import Ban, Inject, RunStore
from line_core.record.events import PoolUpdated

pytestmark = pytest.mark.slow  # every AppTest imports the app and runs it: seconds each

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")


@pytest.fixture
def runs(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "runs"
    root.mkdir()
    monkeypatch.setenv("LINE_RUNS_DIR", str(root))
    return root


@pytest.fixture(scope="session")
def pristine(tmp_path_factory) -> dict[str, Path]:
    return pristine_runs(tmp_path_factory)


@pytest.fixture
def fixture_runs(runs, pristine) -> dict[str, Path]:
    """The three fixture runs (mono, or, classes), copied into this test's runs folder."""
    return copy_runs(pristine, runs)


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


def metric(at: AppTest, label: str):
    return next(m for m in at.metric if m.label == label)


def folder_digest(path: Path) -> dict[str, int]:
    return {str(p.relative_to(path)): p.stat().st_size for p in path.rglob("*") if p.is_file()}


def seconds_text(value: float) -> str:
    return f"{value:.1f} s" if value < 90 else f"{value / 60:.1f} min"


# -- browse views on run folders ---------------------------------------------------------------
def test_runs_gallery_groups_searches_and_sorts(fixture_runs):
    at = open_page("runs")
    assert_clean(at)
    assert "planted · units" in [h.value for h in at.subheader]
    assert "3 of 3 runs" in texts(at)
    at.text_input(key="runs_search").input("no such label").run()
    assert "0 of 3 runs" in texts(at)
    label = engine.history(fixture_runs["or"]).label
    at.text_input(key="runs_search").input(label).run()
    at.selectbox(key="runs_sort").select("Label (A–Z)").run()
    assert_clean(at)
    assert f"**{label}**" in [m.value for m in at.markdown]


def test_neuron_page_from_url_shows_history_and_interventions(fixture_runs):
    mono = fixture_runs["mono"]
    at = open_page("neuron", run=mono.name, layer="units", unit="0")
    assert_clean(at)
    body = texts(at)
    assert "unit 0" in body and "Random-concept baseline" in body
    assert at.query_params["run"] == [mono.name] or at.query_params["run"] == mono.name
    assert "pink flowers" in body  # the user-supplied concept is listed as ours
    assert any("proposed by you" in c.value for c in at.caption)
    assert len(at.dataframe) >= 1


def test_a_ban_is_posted_even_when_the_run_changed_under_the_page(fixture_runs):
    """The live view's state changed since the last draw (a worker moved the run on): the
    page must still post the command the researcher submitted in this very run."""
    run = fixture_runs["or"]
    at = open_page("explore", run=run.name, timeout=300)
    assert not at.exception
    concept = at.selectbox(key="ex_steer_ban_concept").options[-1]
    at.session_state["_live_sig_ex_live"] = ("stale", None, 0)  # as after a worker's progress
    at.selectbox(key="ex_steer_ban_concept").select(concept)
    try:
        next(b for b in at.button if b.label == "Ban").click().run()
        assert not at.exception
        posted = [c for c in RunStore.open(run).commands() if isinstance(c, Ban)]
        assert [c.concept for c in posted] == [concept]
    finally:
        _stop_worker(run)


def test_banned_concept_is_struck_and_never_the_label(fixture_runs):
    """'red' was the unit's best concept until the researcher banned it."""
    mono = fixture_runs["mono"]
    hist = engine.history(mono)
    assert hist.is_banned("red") and hist.label != "red"
    at = open_page("neuron", run=mono.name)
    assert_clean(at)
    assert metric(at, "Label").value == hist.label
    table = at.dataframe[0].value  # the history tab: every scored concept
    banned = table[table["status"] == "banned"]
    assert len(banned) == 1 and banned.iloc[0]["concept"].replace("\u0336", "") == "red"
    assert (table["status"] == "label").any()
    assert any("Banned by you" in c.value and "~~red~~" in c.value for c in at.caption)
    assert not any(m.value.startswith("**#1**") and "`red`" in m.value for m in at.markdown)
    live = open_page(run=mono.name)
    assert_clean(live)
    assert metric(live, "Label").value == hist.label
    assert f"label **{hist.label}**" in texts(live)
    gallery = open_page("runs")
    assert f"**{hist.label}**" in [m.value for m in gallery.markdown]


def test_finished_in_is_the_worked_time(fixture_runs):
    mono = fixture_runs["mono"]
    hist = engine.history(mono)
    at = open_page(run=mono.name)
    assert_clean(at)
    assert f"**finished** in {seconds_text(hist.worked_seconds)}" in texts(at)
    assert metric(at, "Worked").value == seconds_text(hist.worked_seconds)
    assert metric(at, "Iterations").value == f"{hist.iterations_done} / {hist.iterations_total}"


def test_class_folder_run_shows_the_history_baseline(fixture_runs):
    """The baseline of a class-folder run is its random classes, as RunHistory.baseline() says."""
    run_dir = fixture_runs["classes"]
    baseline = engine.history(run_dir).baseline()
    assert baseline is not None
    live = open_page(run=run_dir.name)
    assert_clean(live)
    shown = metric(live, "Random-concept baseline")
    assert shown.value == f"{baseline.mean:.3f}"
    assert f"[{baseline.low:.2f}, {baseline.high:.2f}] · {baseline.n} concepts" in str(
        shown.proto.delta
    )
    neuron = open_page("neuron", run=run_dir.name)
    assert_clean(neuron)
    assert metric(neuron, "Random-concept baseline").value == f"{baseline.mean:.3f}"
    assert any(f"random-concept baseline {baseline.mean:.2f}" in c.value for c in neuron.caption)
    layers = open_page("layers", model="planted", layer="units")
    frame = layers.dataframe[0].value
    row = frame[frame["unit"] == 0]  # one row per unit: the baseline of its best run
    best = max((engine.history(r) for r in (run_dir, fixture_runs["mono"])),
               key=lambda h: h.best().rank_key)
    assert row.iloc[0]["baseline"] == pytest.approx(best.baseline().mean)


def test_neuron_page_by_unit_link_and_bad_links(fixture_runs):
    at = open_page("neuron", layer="units", unit="12")
    assert_clean(at)
    assert at.selectbox(key="nr_run").value == fixture_runs["or"].name
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
    assert "3 of 3 runs" in texts(at)
    assert any("unreadable run folder" in e.label for e in at.expander)
    at = open_page("neuron", run="broken-run")
    assert not at.exception
    assert len(at.error) == 1 and "broken-run" in at.error[0].value
    assert folder_digest(runs) == before


def test_real_exemplars_from_a_control_folder(fixture_runs):
    run_dir = fixture_runs["classes"]
    info = RunStore.open(run_dir).manifest()
    at = open_page("neuron", run=run_dir.name)
    assert_clean(at)
    captions = [c.value for c in at.caption]
    assert any("responds to most (real photos)" in c for c in captions)
    top = max(info.control.activations)
    # the best exemplar is captioned with its class and the unit's top control activation
    protos = [str(img.proto) for img in at.image]
    assert any(f"act {top:.2f}" in p and " · act" in p for p in protos)
    generated = open_page("neuron", run=fixture_runs["or"].name)
    assert any("generator-rendered" in c.value for c in generated.caption)


def test_rerun_of_a_code_model_is_one_error_and_runs_nothing(fixture_runs, runs):
    """A run whose manifest names code is not re-run (imported) before the user loads it."""
    mono = fixture_runs["mono"]
    manifest = json.loads((mono / "manifest.json").read_text())
    manifest["config"]["model"] = "os:abort"  # would kill the server if it were imported
    (mono / "manifest.json").write_text(json.dumps(manifest))
    at = open_page("neuron", run=mono.name)
    before = sorted(p.name for p in runs.iterdir())
    at.button(key="nr_rerun").click().run()
    assert not at.exception
    assert len(at.error) == 1 and "os:abort" in at.error[0].value
    assert "load it on the Explore page" in at.error[0].value
    assert sorted(p.name for p in runs.iterdir()) == before


def test_rerun_of_an_unloadable_run_is_one_error(fixture_runs, runs):
    mono = fixture_runs["mono"]
    manifest = json.loads((mono / "manifest.json").read_text())
    manifest["config"]["model"] = "no_such_model"
    (mono / "manifest.json").write_text(json.dumps(manifest))
    at = open_page("neuron", run=mono.name)
    before = sorted(p.name for p in runs.iterdir())
    at.button(key="nr_rerun").click().run()
    assert not at.exception
    assert len(at.error) == 1 and "no_such_model" in at.error[0].value
    assert sorted(p.name for p in runs.iterdir()) == before


def test_compare_two_runs(fixture_runs):
    at = open_page("compare", a=fixture_runs["mono"].name, b=fixture_runs["or"].name)
    assert_clean(at)
    body = texts(at)
    assert "Jaccard overlap" in body and "**A** · " in body and "**B** · " in body
    assert len(at.get("plotly_chart")) == 1


def test_polysemanticity_view_shows_groups_definition_and_map(fixture_runs):
    at = open_page("polysemanticity", run=fixture_runs["or"].name)
    assert_clean(at)
    body = texts(at)
    assert "Polysemanticity score" in body and "Distinct drivers" in body
    assert "Group 1" in body and "Formula:" in body
    assert any(h.value.startswith("Verdict:") for h in at.subheader)
    assert any("effective number of drivers" in c.value for c in at.caption)
    assert len(at.get("plotly_chart")) == 1
    assert len(at.latex) == 1
    at.slider(key="po_strength").set_value(0.2).run()  # weaker concepts count as drivers too
    assert_clean(at)


def test_layer_overview_sorts_by_score_and_polysemanticity(fixture_runs):
    at = open_page("layers")
    assert_clean(at)
    frame = at.dataframe[0].value
    assert {"unit", "label", "AUC", "polysemanticity", "page"} <= set(frame.columns)
    assert len(frame) == 2 and frame["unit"].is_unique  # one row per unit (unit 0 ran twice)
    at.selectbox(key="ly_sort").select("polysemanticity").run()
    frame = at.dataframe[0].value
    assert list(frame["polysemanticity"]) == sorted(frame["polysemanticity"], reverse=True)


def test_export_page_writes_pdf_and_svg(fixture_runs):
    mono = fixture_runs["mono"]
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


def test_steer_form_rejects_a_pasted_paragraph_in_one_line(fixture_runs):
    mono = fixture_runs["mono"]
    before = folder_digest(mono)
    at = open_page("neuron", run=mono.name)
    at.text_area(key="nr_steer_inject_text").input("stripes " * 60)
    next(b for b in at.button if b.label == "Inject").click().run()
    assert not at.exception
    assert len(at.error) == 1 and "short phrase" in at.error[0].value
    assert folder_digest(mono) == before  # nothing posted, no worker started


# -- the model box: one's own code runs only after "Load" -----------------------------------------
def test_code_spec_helper_tells_code_from_registered_specs():
    from dashboard.backends import is_code_spec

    assert not is_code_spec("efficientnet_lite0")
    assert not is_code_spec("planted")
    assert not is_code_spec("torchvision:resnet50")
    assert not is_code_spec("checkpoint:resnet50@model.pt")
    assert is_code_spec("os:abort")
    assert is_code_spec("my_pkg.models:build")
    assert is_code_spec("path/to/file.py:build")


MODEL_FILE = '''
from pathlib import Path
from torch import nn

Path(__file__).with_suffix(".imported").write_text("imported")


def build():
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
'''


def test_code_model_spec_is_not_run_until_load(runs, tmp_path):
    at = open_page(timeout=300)
    at.selectbox(key="ex_model").select("custom").run()
    at.text_input(key="ex_model_spec").input("os:abort").run(timeout=300)
    assert_clean(at)  # still alive: os.abort was not imported, let alone called
    assert any("runs the callable" in w.value and "os:abort" in w.value for w in at.warning)
    assert any(b.key == "ex_model_load" for b in at.button)
    assert not any(b.key == "ex_start" for b in at.button)
    assert not list(runs.iterdir())
    model_file = tmp_path / "my_model.py"
    model_file.write_text(MODEL_FILE)
    marker = model_file.with_suffix(".imported")
    at.text_input(key="ex_model_spec").input(f"{model_file}:build").run(timeout=300)
    assert_clean(at)
    assert not marker.exists()  # typing a spec imports nothing
    assert any("runs the callable" in w.value for w in at.warning)
    at.button(key="ex_model_load").click().run(timeout=300)
    assert_clean(at)
    assert marker.exists()
    assert not any("runs the callable" in w.value for w in at.warning)
    assert f"{model_file}:build" in at.session_state["confirmed_code_specs"]
    layers = at.selectbox(key="ex_layer").options
    assert any(name.startswith("0") for name in layers)  # the Sequential's conv, "0 (4 units)"
    assert any(b.key == "ex_start" for b in at.button)


# -- explore on the real offline stack ----------------------------------------------------------
def _wait(at: AppTest, done, seconds: float = 300.0) -> AppTest:
    deadline = time.time() + seconds
    while time.time() < deadline:
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        if done(at):
            return at
        time.sleep(1.0)
    raise AssertionError(f"timed out; page said: {texts(at)[-800:]}")


def _writer_gone(run_dir: Path) -> bool:
    """Whether the process that last held the run's writer lock has exited.

    A worker gives the lock back before its process ends; until it has ended, the engine
    treats it as alive and starts no second worker (a window of a second or two).
    """
    try:
        pid = int(json.loads((run_dir / ".writer.lock").read_text())["pid"])
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (OSError, ValueError, KeyError):
        return True
    if pid == os.getpid():
        return True
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"


def _finished(run_dir: Path):
    """A condition for _wait: the run finished, its worker exited, the page says so."""
    def done(at: AppTest) -> bool:
        state = engine.status(run_dir)
        return (state.word == "finished" and not state.live and _writer_gone(run_dir)
                and "**finished** in" in texts(at))

    return done


def default_unit() -> int:
    return int(engine.choices.target("efficientnet_lite0").default_neuron)


def _stop_worker(run_dir: Path) -> None:
    """Ask the run to stop and end its writer process (test teardown)."""
    try:
        state = engine.status(run_dir)
        if state.word in ("starting", "running", "review"):
            engine.stop(run_dir)
        if state.writer is not None and state.writer.pid:
            os.kill(state.writer.pid, signal.SIGTERM)
    except (OSError, ValueError):
        pass


def _run_dir(at: AppTest, runs: Path) -> Path:
    key = at.query_params["run"]
    return runs / (key[0] if isinstance(key, list) else key)


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
    run_dir = _run_dir(at, runs)
    assert (run_dir / "manifest.json").is_file()
    yield at, run_dir
    _stop_worker(run_dir)


def test_explore_runs_live_and_a_user_concept_enters_the_pool(started):
    at, run_dir = started
    # inject while the run is live: the worker scores it between stages
    at.text_area(key="ex_steer_inject_text").input("yellow tiles")
    next(b for b in at.button if b.label == "Inject").click().run()
    assert not at.exception
    commands = RunStore.open(run_dir).commands()
    assert commands and isinstance(commands[-1], Inject)
    assert commands[-1].concepts == ("yellow tiles",)
    _wait(at, _finished(run_dir))
    assert_clean(at)
    history = engine.history(run_dir)
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
    worked = engine.history(run_dir).worked_seconds
    best = engine.history(run_dir).best().concept
    at.selectbox(key="ex_steer_rescore_concept").select(best)
    at.number_input(key="ex_steer_rescore_n").set_value(6)
    next(b for b in at.button if b.label == "Re-score").click().run()
    assert not at.exception
    banned = engine.history(run_dir).current_pool()[-1].concept
    at.selectbox(key="ex_steer_ban_concept").select(banned)
    next(b for b in at.button if b.label == "Ban").click().run()
    assert not at.exception
    _wait(at, lambda a: {"rescore", "ban"} <= {x.action for x in engine.history(run_dir).actions}
          and _finished(run_dir)(a))
    history = engine.history(run_dir)
    rescored = [r for r in history.records if r.concept == best]
    assert len(rescored) == 2 and len(rescored[-1].activations) == 6
    assert banned not in [r.concept for r in history.current_pool()]
    # the later session (the worker that applied the commands) does not overwrite the time
    assert history.worked_seconds == pytest.approx(worked)
    assert f"**finished** in {seconds_text(worked)}" in texts(at)
    # the ban shows where it takes effect: struck at the end of the pool table, never the label
    assert history.label != banned
    assert metric(at, "Label").value == history.label
    frames = [d.value for d in at.dataframe]
    assert any(
        ((f["status"] == "banned") & (f["concept"].str.replace("\u0336", "") == banned)).any()
        for f in frames if "status" in f.columns
    ), (banned, [f[["concept", "status"]].to_dict("records") for f in frames
                 if "status" in f.columns])


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


def test_bad_model_is_one_clear_error_after_load(runs):
    at = open_page(timeout=300)
    at.selectbox(key="ex_model").select("custom").run()
    at.text_input(key="ex_model_spec").input("no_such_pkg.models:build").run(timeout=300)
    assert_clean(at)
    at.button(key="ex_model_load").click().run(timeout=300)
    assert not at.exception
    assert len(at.error) == 1
    assert "no_such_pkg" in at.error[0].value and "Traceback" not in at.error[0].value
    assert not list(runs.iterdir())


def test_bad_generator_is_one_clear_error(runs):
    at = open_page(timeout=300)
    at.selectbox(key="ex_generator").select("sd-turbo").run()
    at.button(key="ex_start").click().run(timeout=300)
    assert not at.exception
    assert len(at.error) == 1
    assert "sd-turbo" in at.error[0].value and "Traceback" not in at.error[0].value
    assert not list(runs.iterdir())


def test_unit_out_of_range_in_the_url_is_an_error(runs):
    at = open_page(timeout=300, layer="_conv_head", unit="5000")
    assert not at.exception
    assert any("out of range" in e.value and "0..1279" in e.value for e in at.error)
    assert at.number_input(key="ex_neuron").value == default_unit()


def test_a_chosen_unit_is_written_to_the_url_and_kept(runs):
    at = open_page(timeout=300)
    at.number_input(key="ex_neuron").set_value(42).run(timeout=300)
    assert_clean(at)
    params = {k: at.query_params[k] for k in ("model", "layer", "unit")}
    flat = {k: v[0] if isinstance(v, list) else v for k, v in params.items()}
    assert flat == {"model": "efficientnet_lite0", "layer": "_conv_head", "unit": "42"}
    at.run(timeout=300)  # the URL now names the unit: it is not applied over the field again
    assert at.number_input(key="ex_neuron").value == 42 and not at.error


def test_review_mode_waits_for_the_researcher(runs):
    at = open_page(timeout=300)
    at.number_input(key="ex_iterations").set_value(1)
    at.toggle(key="ex_review").set_value(True)
    at.toggle(key="ex_summary").set_value(False)
    at.button(key="ex_start").click().run(timeout=300)
    run_dir = runs / next(iter(os.listdir(runs)))
    try:
        _wait(at, lambda a: any(t.key == "review_1" for t in a.text_input))
        assert engine.status(run_dir).word == "review"
        at.text_input(key="review_1").input("golden grid")
        next(b for b in at.button if b.label == "Accept").click().run()
        _wait(at, _finished(run_dir))
        history = engine.history(run_dir)
        assert [r.concept for r in history.records if r.iteration == 1] == ["golden grid"]
        assert [r.source for r in history.records if r.iteration == 1] == ["user"]
        accept = [a for a in history.actions if a.action == "accept"]
        assert accept and "edited from" in accept[0].detail
        assert RunStore.open(run_dir).manifest().config.review is True
    finally:
        _stop_worker(run_dir)


def test_stop_resume_and_reattach_from_the_url(runs):
    at = open_page(timeout=300)
    at.selectbox(key="ex_model").select("planted").run(timeout=300)
    at.selectbox(key="ex_layer").select("units").run()
    at.number_input(key="ex_neuron").set_value(0)
    at.number_input(key="ex_iterations").set_value(3).run()  # the unit is confirmed first
    at.button(key="ex_start").click().run(timeout=300)
    # planted unit 0 (red) is silent on most control images: the pre-flight says so
    assert any("mostly inactive" in w.value for w in at.warning)
    at.button(key="ex_start_anyway").click().run(timeout=300)
    assert_clean(at)
    run_dir = runs / next(iter(os.listdir(runs)))
    try:
        # stop at once: the worker is still starting (a planted run takes seconds in all), and
        # the loop applies the stop once the initial pool is scored
        _wait(at, lambda a: any(b.key == "ex_stop" for b in a.button))
        at.button(key="ex_stop").click().run()
        _wait(at, lambda a: not engine.status(run_dir).live and _writer_gone(run_dir) and any(
            b.key == "ex_resume" for b in a.button))
        assert engine.history(run_dir).finished is None
        # a new browser session (a reload) with the run in the URL reattaches to it
        again = open_page(timeout=300, run=run_dir.name)
        assert_clean(again)
        assert "**stopped** after" in texts(again)
        again.button(key="ex_resume").click().run()
        _wait(again, _finished(run_dir))
        history = engine.history(run_dir)
        assert history.iterations_done == 5  # initial pool, 3 iterations and the summary
        assert [a.action for a in history.actions] == ["stop"]
        # one click re-runs it from its manifest and lands on the comparison of the two
        page = open_page("neuron", timeout=300, run=run_dir.name)
        page.button(key="nr_rerun").click().run(timeout=300)
        assert_clean(page)
        again_dir = next(p for p in runs.iterdir() if p != run_dir)
        try:
            old = RunStore.open(run_dir).manifest().config
            new = RunStore.open(again_dir).manifest().config
            assert old == new
            assert page.selectbox(key="cmp_b_run").value == again_dir.name
            assert page.selectbox(key="cmp_a_run").value == run_dir.name
        finally:
            _stop_worker(again_dir)
    finally:
        _stop_worker(run_dir)


def test_a_command_that_missed_the_loop_is_applied_when_the_page_sees_it(runs):
    config = ExplainConfig(model="planted", layer="units", neuron=2, iterations=0,
                           summary=False, runs_dir=str(runs))
    started = engine.start(config)
    for _ in started.explainer.run():
        pass
    run_dir = started.run_dir
    RunStore.open(run_dir).post(Inject(concepts=("blue stripes",)))  # after the loop ended
    at = open_page(timeout=300, run=run_dir.name)
    try:
        _wait(at, lambda a: any(r.source == "user" for r in engine.history(run_dir).records)
              and _finished(run_dir)(a))
        assert_clean(at)
        assert "Your concepts" in texts(at) and "blue stripes" in texts(at)
    finally:
        _stop_worker(run_dir)
