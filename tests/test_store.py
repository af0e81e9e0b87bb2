import json
import os

import numpy as np
import pytest
from PIL import Image

from line_core.errors import RunStoreError
from line_core.events import (
    ConceptProposed,
    ConceptScored,
    IterationDone,
    PoolUpdated,
    RunResumed,
    RunStarted,
    event_from_dict,
)
from line_core.history import build_history, write_history_tables
from line_core.store import RunStore, list_runs


def _scored(it, concept, auc):
    return ConceptScored(
        iteration=it,
        concept=concept,
        source="llm",
        auc=auc,
        mad=1.0,
        mean_activation=0.5,
        u_statistic=3.0,
        p_value=0.1,
        auc_low=auc - 0.1,
        auc_high=auc,
        activations=[0.1, 0.2],
    )


@pytest.fixture
def store(tmp_path):
    return RunStore.create(tmp_path, {"config": {"model": "m"}}, name="m-layer-n1")


def test_round_trip_events_and_history(store):
    events = [
        RunStarted(model="m", layer="l", neuron=1, generator="g", proposer="p", iterations=2),
        ConceptProposed(iteration=1, concept="red", source="llm", reasoning="because"),
        _scored(1, "red", 0.8),
        PoolUpdated(iteration=1, pool=["red"], added="red", removed=None),
        IterationDone(iteration=1, best_concept="red", best_auc=0.8, best_mad=1.0, seconds=0.1),
    ]
    for e in events:
        store.append(e)
    again = RunStore.open(store.run_dir).events()
    assert [e.to_dict() for e in again] == [e.to_dict() for e in events]
    history = build_history(again)
    assert history.best().concept == "red"
    assert history.records[0].reasoning == "because"
    assert history.last_completed_iteration == 1
    paths = write_history_tables(store.run_dir, history)
    assert (store.run_dir / "history.csv").read_text().count("red") == 1
    assert len(paths) == 2


def test_event_dicts_are_json_and_ignore_unknown_keys():
    e = _scored(2, "x", 0.5)
    d = json.loads(json.dumps(e.to_dict()))
    d["future_field"] = 1
    assert event_from_dict(d) == e


def test_half_written_last_line_is_ignored_and_cut_before_append(store):
    store.append(ConceptProposed(iteration=1, concept="a", source="llm"))
    with open(store.run_dir / "events.jsonl", "a") as fh:
        fh.write('{"type": "concept_proposed", "iteration": 1, "conc')
    assert [e.concept for e in store.events()] == ["a"]
    store.prepare_append()
    store.append(ConceptProposed(iteration=2, concept="b", source="llm"))
    assert [e.concept for e in store.events()] == ["a", "b"]


def test_corrupt_line_in_the_middle_is_a_clear_error(store):
    with open(store.run_dir / "events.jsonl", "a") as fh:
        fh.write("not json\n")
        fh.write(json.dumps(ConceptProposed(iteration=1, concept="a", source="x").to_dict()) + "\n")
    with pytest.raises(RunStoreError, match="corrupt"):
        store.events()


def test_resume_voids_later_partial_iterations(store):
    store.append(IterationDone(iteration=0, best_concept="a", best_auc=0.5, best_mad=0, seconds=1))
    store.append(ConceptProposed(iteration=1, concept="lost", source="llm"))
    store.append(RunResumed(from_iteration=0))
    store.append(ConceptProposed(iteration=1, concept="kept", source="llm"))
    concepts = [e.concept for e in store.events() if isinstance(e, ConceptProposed)]
    assert concepts == ["kept"]
    assert len(store.raw_events()) == 4  # nothing deleted on disk


def test_images_are_content_addressed(store):
    a = Image.fromarray(np.full((8, 8, 3), 10, np.uint8))
    b = Image.fromarray(np.full((8, 8, 3), 200, np.uint8))
    pa, pa2, pb = store.save_image(a), store.save_image(a.copy()), store.save_image(b)
    assert pa == pa2 != pb
    assert np.array_equal(np.asarray(store.load_image(pa)), np.asarray(a))
    assert not [p for p in os.listdir(store.images_dir) if p.endswith(".tmp")]
    with pytest.raises(RunStoreError):
        store.image_path("../../etc/passwd")


def test_open_rejects_non_runs(tmp_path):
    with pytest.raises(RunStoreError, match="not a folder"):
        RunStore.open(tmp_path / "missing")
    with pytest.raises(RunStoreError, match="no manifest.json"):
        RunStore.open(tmp_path)
    (tmp_path / "manifest.json").write_text("{broken")
    with pytest.raises(RunStoreError, match="unreadable"):
        RunStore.open(tmp_path)


def test_manifest_write_is_atomic_and_runs_are_listed(tmp_path, store):
    store.write_manifest({"config": {"model": "other"}})
    assert RunStore.open(store.run_dir).manifest()["config"]["model"] == "other"
    assert list_runs(tmp_path) == [store.run_dir]


def test_commands_queue(store):
    cid = store.post_command("inject", concepts=["red"])
    assert store.commands() == [{"id": cid, "action": "inject", "concepts": ["red"]}]
