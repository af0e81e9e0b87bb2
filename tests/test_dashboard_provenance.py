"""The live page says where provenance and bans take effect (AppTest on a real planted run)."""

from __future__ import annotations

from pathlib import Path

import pytest
from planted_runs import ScriptedProposer
from streamlit.testing.v1 import AppTest

from line_core import engine
from line_core.config import ExplainConfig
from line_core.record import Accept, Ban, RunStore

pytestmark = pytest.mark.slow

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")


@pytest.fixture
def steered_run(tmp_path, monkeypatch) -> Path:
    """Planted unit 0 ('red'): 'red' banned, the one proposal edited in review."""
    runs = tmp_path / "runs"
    monkeypatch.setenv("LINE_RUNS_DIR", str(runs))
    config = ExplainConfig(model="planted", layer="units", neuron=0, iterations=1,
                           summary=False, review=True, probe_share=0.0, runs_dir=str(runs))
    started = engine.start(config, proposer=ScriptedProposer([("blue squares", "lexicon")]))
    store = RunStore.open(started.run_dir)
    store.post(Ban(concept="red"))
    store.post(Accept(concept="golden grid"))
    for _ in started.explainer.run():
        pass
    return started.run_dir


def test_the_live_page_shows_bans_and_who_changed_a_concept(steered_run):
    hist = engine.history(steered_run)
    assert hist.banned_concepts == ["red"] and hist.label != "red"
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["run"] = steered_run.name
    at.run()
    assert not at.exception and not at.error
    captions = [c.value for c in at.caption]
    ban = [c for c in captions if "Banned by you" in c]
    assert len(ban) == 1 and "~~red~~" in ban[0]
    assert "excluded from the label and the pool" in ban[0]
    assert next(m for m in at.metric if m.label == "Label").value == hist.label
    assert any("edited by you from `blue squares` (proposed by lexicon)" in c for c in captions)
    assert any("`golden grid`" in c and "edited from `blue squares`" in c for c in captions)
