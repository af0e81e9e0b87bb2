"""The browse views' core: runs grouped per unit, search over every concept tried, the atlas's
best concept for every unit. On run folders made by the real loop on the planted model
(``test_dashboard_fixture_runs``) and a real atlas of the planted layer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_dashboard_fixture_runs import copy_runs, pristine_runs

from line_core import engine
from line_core.analysis.search import Filters, build_index, query_text, search_units
from line_core.analysis.units import (
    UnitKey,
    UnitRun,
    best_label,
    group_by_unit,
    layer_rows,
    run_date,
    top_run_images,
)
from line_core.atlas.ranking import best_per_unit, rank_concepts
from line_core.embeddings import hashing_embed
from line_core.record import list_runs

pytestmark = pytest.mark.slow  # the fixture runs take minutes to build once per session


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> list[UnitRun]:
    folder = tmp_path_factory.mktemp("browse") / "runs"
    copy_runs(pristine_runs(tmp_path_factory), folder)
    return [
        UnitRun(path.name, path, engine.history(path), engine.status(path).word)
        for path in list_runs(folder)
    ]


def test_runs_group_per_unit_newest_first_with_the_best_label_across_them(runs):
    groups = group_by_unit(runs)
    assert set(groups) == {UnitKey("planted", "units", 0), UnitKey("planted", "units", 12)}
    unit0 = groups[UnitKey("planted", "units", 0)]
    assert len(unit0) == 2
    assert unit0[0].created >= unit0[1].created
    best = best_label(unit0)
    assert best is not None
    # the best of the runs' labels (each run's bans applied: "red" is banned in one run)
    labels = [r.history.best() for r in unit0]
    assert best.record.rank_key == max(label.rank_key for label in labels)
    assert best.record is best.run.history.best()
    assert len(run_date(unit0[0].created)) == 16


def test_top_images_come_from_every_run_highest_activation_first(runs):
    unit0 = group_by_unit(runs)[UnitKey("planted", "units", 0)]
    images = top_run_images(unit0, limit=8)
    assert len(images) == 8
    values = [i.activation for i in images]
    assert values == sorted(values, reverse=True)
    assert len({Path(i.image).name for i in images}) == 8
    everything = [a for r in unit0 for rec in r.history.records for a in rec.activations]
    assert values[0] == pytest.approx(max(everything))
    assert all((i.run.run_dir / i.image).is_file() for i in images)


def test_search_finds_concepts_not_only_labels_and_ranks_units_by_score(runs):
    index = build_index(runs)
    assert len(index.entries) > 3 * 10  # every concept of every run, not three labels
    hits = search_units(index, "Which units respond to stripes?", synonyms=False)
    assert query_text("Which units respond to stripes?") == "stripes"
    found = {h.unit.unit: h for h in hits}
    assert 12 in found and "stripe" in found[12].concept
    assert [h.score.rank_key for h in hits] == sorted((h.score.rank_key for h in hits),
                                                      reverse=True)
    or_run = next(r for r in runs if r.unit.unit == 12)
    striped = [r for r in or_run.history.unique_records() if "stripe" in r.concept]
    assert found[12].score.rank_key == max(r.rank_key for r in striped)
    # labels alone would not find it: the "or" unit's label is about red
    assert "stripe" not in or_run.history.label or len(striped) > 1


def test_search_filters_by_model_layer_status_and_date(runs):
    index = build_index(runs)
    assert search_units(index, "red", Filters(models=frozenset({"other"})), synonyms=False) == []
    assert search_units(index, "red", Filters(statuses=frozenset({"running"})),
                        synonyms=False) == []
    day = runs[0].created[:10]
    assert search_units(index, "red", Filters(since=day, until=day), synonyms=False)
    assert search_units(index, "red", Filters(until="2000-01-01"), synonyms=False) == []
    assert search_units(index, "red", Filters(layers=frozenset({"units"})), synonyms=False)


def test_near_synonyms_come_through_the_embedder(runs):
    index = build_index(runs)
    plain = search_units(index, "stripy", synonyms=False)
    assert plain == []
    similar = search_units(index, "stripes pattern", embedder=hashing_embed, threshold=0.3)
    assert similar and all(h.similarity < 1.0 or "stripe" in h.concept for h in similar)


def test_layer_rows_are_one_per_unit(runs):
    groups = {k.unit: v for k, v in group_by_unit(runs).items()}
    rows = layer_rows(groups)
    assert [r.unit for r in rows] == [0, 12]
    assert rows[0].runs == 2 and rows[0].label == best_label(groups[0]).record.concept


def test_best_atlas_concept_of_every_unit_matches_the_per_unit_ranking(tmp_path, monkeypatch):
    monkeypatch.setenv("LINE_ATLAS_DIR", str(tmp_path / "atlas"))
    from line_core.atlas.vocabulary import procedural_grammar

    words = tmp_path / "words.txt"
    words.write_text("\n".join(procedural_grammar()[:24]), encoding="utf-8")
    built = engine.atlas.build("planted", "units", "procedural", str(words),
                               images_per_concept=3)
    atlas = built.atlas
    control = np.random.default_rng(0).normal(0.5, 0.5, (30, atlas.units))
    best = best_per_unit(atlas, control)
    assert len(best) == atlas.units
    for unit in range(atlas.units):
        assert best[unit] == rank_concepts(atlas, unit, control[:, unit])[0]
    rows = layer_rows({}, best)
    assert [r.unit for r in rows] == list(range(atlas.units))
    assert rows[3].atlas_concept == best[3].concept and rows[3].runs == 0
