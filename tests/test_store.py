import json
import os

import numpy as np
import pytest
from PIL import Image

from line_core.config import ExplainConfig
from line_core.errors import RunStoreError
from line_core.record import Inject, Manifest, list_runs, write_history_tables
from line_core.record.events import (
    ConceptProposed,
    ConceptScored,
    IterationDone,
    PoolUpdated,
    RunResumed,
    RunStarted,
    event_from_dict,
)
from line_core.record.history import build_history
from line_core.record.store import RunStore


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
    return RunStore.create(tmp_path, Manifest(ExplainConfig(model="m")), name="m-layer-n1")


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
    assert store.repair() == []  # a crash's tail is cut, not kept as corrupt
    store.append(ConceptProposed(iteration=2, concept="b", source="llm"))
    assert [e.concept for e in store.events()] == ["a", "b"]


def test_a_corrupt_complete_line_is_skipped_then_moved_aside_by_a_repair(store):
    good = json.dumps(ConceptProposed(iteration=1, concept="a", source="x").to_dict())
    with open(store.run_dir / "events.jsonl", "a") as fh:
        fh.write("not json\n" + good + "\n" + '{"type": "concept_proposed", "iteration": 2}x\n')
    assert [e.concept for e in store.events()] == ["a"]  # readers skip, never fail
    assert [b.number for b in store.corrupt_lines()] == [1, 3]
    moved = store.repair()
    assert [b.text for b in moved] == ["not json", '{"type": "concept_proposed", "iteration": 2}x']
    aside = (store.run_dir / "events.jsonl.corrupt").read_text().splitlines()
    assert [json.loads(x)["line"] for x in aside] == [1, 3]  # nothing lost
    store.append(ConceptProposed(iteration=2, concept="b", source="llm"))
    assert [e.concept for e in store.events()] == ["a", "b"]
    assert store.corrupt_lines() == []


def test_appends_need_the_writer_lock(tmp_path, store):
    from line_core.errors import RunLockedError

    other = RunStore.open(store.run_dir)
    with pytest.raises(RunStoreError, match="writer lock"):
        other.append(ConceptProposed(iteration=1, concept="a", source="x"))
    with pytest.raises(RunLockedError, match=r"being written by pid \d+"):
        other.writer()
    store.lock.release()
    other.writer()
    other.append(ConceptProposed(iteration=1, concept="a", source="x"))
    assert [e.concept for e in store.events()] == ["a"]


def test_nan_never_reaches_the_events_file(store):
    bad = _scored(1, "x", float("nan"))
    with pytest.raises(ValueError):
        store.append(bad)
    assert store.raw_events() == []


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
    store.write_manifest(Manifest(ExplainConfig(model="other", iterations=4)))
    manifest = RunStore.open(store.run_dir).manifest()
    assert manifest.config.model == "other" and manifest.planned_iterations == 6
    assert list_runs(tmp_path) == [store.run_dir]
    (store.run_dir / "manifest.json").write_text('{"config": 3}')
    with pytest.raises(RunStoreError, match="not a LINE manifest"):
        RunStore.open(store.run_dir)


def test_commands_queue_typed_and_validated(store):
    from line_core.errors import ConfigError
    from line_core.record import Ban

    cid = store.post(Inject(concepts=("red",)))
    [command] = store.commands()
    assert command == Inject(id=cid, concepts=("red",))
    with pytest.raises(ConfigError, match="at most 200"):
        store.post(Inject(concepts=("x" * 100_000,)))
    with pytest.raises(ConfigError, match="at most 50"):
        store.post(Inject(concepts=tuple(f"c{i}" for i in range(300))))
    with pytest.raises(ConfigError, match="empty"):
        store.post(Ban(concept="  "))
    assert len(store.commands()) == 1  # rejected commands never reach the file
    with open(store.run_dir / "commands.jsonl", "a") as fh:
        fh.write('{"id": "z", "action": "teleport"}\n')
    assert store.commands()[-1].action == "unknown"
