"""Unit pages, search, the layer table and the Explore URL through Streamlit's AppTest, on run
folders made by the real loop on the planted model (and a real atlas of its layer)."""

from __future__ import annotations

import time

import pytest
import streamlit as st
from test_dashboard_apptest import assert_clean, fixture_runs, open_page, pristine, runs, texts

from line_core import engine
from line_core.analysis.units import run_date
from line_core.record import list_runs

__all__ = ["fixture_runs", "pristine", "runs"]  # fixtures this module uses

pytestmark = pytest.mark.slow


def metric(at, label: str):
    return next(m for m in at.metric if m.label == label)


@pytest.fixture
def planted_atlas(tmp_path, monkeypatch):
    """A built concept atlas of planted/units in a folder of this test only."""
    monkeypatch.setenv("LINE_ATLAS_DIR", str(tmp_path / "atlas"))
    st.cache_resource.clear()  # backends cache opened atlases by model and layer
    st.cache_data.clear()
    from line_core.atlas.vocabulary import procedural_grammar

    words = tmp_path / "words.txt"
    words.write_text("\n".join(procedural_grammar()[:60]), encoding="utf-8")
    built = engine.atlas.build("planted", "units", "procedural", str(words), images_per_concept=2)
    yield built.atlas
    st.cache_resource.clear()
    st.cache_data.clear()


# -- unit page ---------------------------------------------------------------------------------
def test_unit_page_gathers_every_run_of_the_unit(fixture_runs):
    at = open_page("unit", model="planted", layer="units", unit="0")
    assert_clean(at)
    runs = [fixture_runs["mono"], fixture_runs["classes"]]
    histories = [engine.history(r) for r in runs]
    best = max((h.best() for h in histories), key=lambda r: r.rank_key)
    assert metric(at, "Best label across runs").value == best.concept
    assert metric(at, "Runs").value == "2"
    table = at.dataframe[0].value
    assert len(table) == 2
    assert list(table["date"]) == sorted(table["date"], reverse=True)  # latest first
    assert {f"/neuron?run={r.name}" for r in runs} == set(table["run"])
    created = engine.history(runs[0]).manifest.created
    assert run_date(created) in set(table["date"])
    body = texts(at)
    assert "Best label and its evidence" in body and "Images that drive it most" in body
    assert any("real photos" in c.value for c in at.caption)  # the class-folder run's exemplars
    assert len(at.image) >= 3
    assert not any("Live:" in c.value for c in at.caption)  # nothing is running


def test_unit_page_bad_links_are_one_clear_error(fixture_runs):
    at = open_page("unit", model="planted", layer="units", unit="abc")
    assert not at.exception
    assert len(at.error) == 1 and "not a unit number" in at.error[0].value
    half = open_page("unit", unit="3")
    assert len(half.error) == 1 and "names a model, a layer and a unit" in half.error[0].value
    none = open_page("unit", model="planted", layer="units", unit="7")
    assert_clean(none)
    assert any("No run of planted · units · unit 7" in i.value for i in none.info)


def test_unit_page_shows_the_atlas_top_concepts(fixture_runs, planted_atlas):
    at = open_page("unit", timeout=300, model="planted", layer="units", unit="12")
    assert_clean(at)
    assert "Top concepts in the layer's concept atlas" in texts(at)
    assert any("AUC of each atlas concept" in c.value for c in at.caption)
    assert any(m.value.startswith("**#1** `") for m in at.markdown)
    # a unit with no run: its atlas concepts still show
    bare = open_page("unit", timeout=300, model="planted", layer="units", unit="7")
    assert_clean(bare)
    assert any(m.value.startswith("**#1** `") for m in bare.markdown)


# -- layer page --------------------------------------------------------------------------------
def test_layer_page_is_one_row_per_unit(fixture_runs):
    at = open_page("layers", model="planted", layer="units")
    assert_clean(at)
    frame = at.dataframe[0].value
    assert list(frame["unit"]) == sorted(frame["unit"], key=lambda u: u) or len(frame) == 2
    assert sorted(frame["unit"]) == [0, 12] and frame["unit"].is_unique
    row = frame[frame["unit"] == 0].iloc[0]
    assert row["runs"] == 2
    assert row["page"] == "/unit?model=planted&layer=units&unit=0"
    at.selectbox(key="ly_sort").select("polysemanticity").run()
    frame = at.dataframe[0].value
    assert list(frame["polysemanticity"]) == sorted(frame["polysemanticity"], reverse=True)
    assert any(b.key == "ly_sweep" and b.disabled for b in at.button)


def test_layer_page_with_an_atlas_lists_every_unit(fixture_runs, planted_atlas):
    at = open_page("layers", timeout=300, model="planted", layer="units")
    assert_clean(at)
    frame = at.dataframe[0].value
    assert len(frame) == planted_atlas.units and frame["unit"].is_unique
    unexplained = frame[frame["runs"] == 0]
    assert len(unexplained) == planted_atlas.units - 2
    assert (unexplained["atlas concept"] != "").all()
    at.selectbox(key="ly_show").select("unexplained units").run()
    assert len(at.dataframe[0].value) == planted_atlas.units - 2
    at.selectbox(key="ly_sort").select("atlas AUC").run()
    aucs = list(at.dataframe[0].value["atlas AUC"])
    assert aucs == sorted(aucs, reverse=True)


def test_layer_page_explains_selected_units_as_a_sweep(fixture_runs, planted_atlas, runs):
    at = open_page("layers", timeout=300, model="planted", layer="units")
    at.session_state["ly_table"] = {"selection": {"rows": [], "columns": [], "cells": []}}
    frame = at.dataframe[0].value
    picks = [int(i) for i, unit in enumerate(frame["unit"]) if unit in (3, 5)]
    at.session_state["ly_table"] = {"selection": {"rows": picks, "columns": [], "cells": []}}
    at.number_input(key="ly_sweep_iterations").set_value(1)
    at.run(timeout=300)
    button = next(b for b in at.button if b.key == "ly_sweep")
    assert not button.disabled and "2 selected" in button.label
    before = set(list_runs(runs))
    button.click().run(timeout=300)
    assert_clean(at)
    assert any("Sweep of 2 unit(s) started" in s.value for s in at.success)
    deadline = time.time() + 240
    while time.time() < deadline:
        new = [p for p in list_runs(runs) if p not in before]
        if len(new) == 2 and all(engine.history(p).finished for p in new):
            break
        time.sleep(1.0)
    new = [p for p in list_runs(runs) if p not in before]
    assert sorted(engine.history(p).manifest.neuron for p in new) == [3, 5]
    at.run(timeout=300)
    frame = at.dataframe[0].value
    assert set(frame[frame["runs"] > 0]["unit"]) == {0, 3, 5, 12}


# -- search ------------------------------------------------------------------------------------
def test_search_answers_which_units_respond_to_stripes(fixture_runs):
    at = open_page("search", timeout=300, q="which units respond to stripes?")
    assert_clean(at)
    frame = at.dataframe[0].value
    assert "planted · units · unit 12" in list(frame["unit"])
    assert list(frame["AUC"]) == sorted(frame["AUC"], reverse=True)
    row = frame[frame["unit"] == "planted · units · unit 12"].iloc[0]
    assert "stripe" in row["best matching concept"]
    assert row["page"] == "/unit?model=planted&layer=units&unit=12"
    # labels alone: the runs page's label search finds no run for "stripes"
    gallery = open_page("runs")
    gallery.text_input(key="runs_search").input("stripes").run()
    assert "0 of 3 runs" in texts(gallery)


def test_search_filters_from_the_url(fixture_runs):
    at = open_page("search", timeout=300, q="red", status="running")
    assert_clean(at)
    assert any("No unit was tried" in i.value for i in at.info)
    at.multiselect(key="se_status").set_value([]).run(timeout=300)
    assert_clean(at)
    assert len(at.dataframe[0].value) == 2
    assert at.query_params.get("q") in ("red", ["red"])


# -- gallery dates -----------------------------------------------------------------------------
def test_gallery_cards_show_their_dates(fixture_runs):
    at = open_page("runs")
    assert_clean(at)
    for run_dir in fixture_runs.values():
        date = run_date(engine.history(run_dir).manifest.created)
        assert any(date in c.value for c in at.caption)


# -- Explore: the URL names model, layer and unit ------------------------------------------------
def test_explore_url_names_model_layer_and_unit(runs):
    at = open_page(timeout=300, model="planted", layer="units", unit="5")
    assert_clean(at)
    assert at.selectbox(key="ex_model").value == "planted"
    assert at.selectbox(key="ex_layer").value == "units"
    assert at.number_input(key="ex_neuron").value == 5


def test_explore_url_unit_is_checked_against_the_chosen_layer(runs):
    at = open_page(timeout=300, unit="500")  # the default layer has 1,280 units
    assert_clean(at)
    assert at.selectbox(key="ex_layer").value == "_conv_head"
    assert at.number_input(key="ex_neuron").value == 500
    bad = open_page(timeout=300, layer="_conv_stem", unit="500")
    assert not bad.exception
    assert len(bad.error) == 1
    assert "_conv_stem" in bad.error[0].value and "0..31" in bad.error[0].value
    unknown = open_page(timeout=300, model="no_such_model")
    assert not unknown.exception
    assert len(unknown.error) == 1 and "no_such_model" in unknown.error[0].value


def test_typed_out_of_range_unit_is_named_and_nothing_runs(runs):
    at = open_page(timeout=300)
    at.number_input(key="ex_neuron").set_value(5000).run(timeout=300)
    assert not at.exception
    assert len(at.error) == 1
    assert "5000" in at.error[0].value and "0..1279" in at.error[0].value
    assert not any(b.key in ("ex_check_btn", "ex_start") for b in at.button)
    at.number_input(key="ex_neuron").set_value(12).run(timeout=300)
    assert_clean(at)
    assert any(b.key == "ex_check_btn" for b in at.button)
    assert not list(runs.iterdir())
