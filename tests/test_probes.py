"""Driver-separating probes: the schedule inside the budget, the ablations, the loop's tags."""

from __future__ import annotations

import random

from line_core import engine
from line_core.concepts import Score, ScoredConcept, Source
from line_core.config import ExplainConfig
from line_core.engine.probes import (
    ablations,
    is_probe_iteration,
    isolated_atom,
    plan_probes,
    probe_quota,
    unlike,
)
from line_core.engine.state import LoopState
from line_core.record import load_history


def test_quota_is_a_share_of_the_budget_never_all_of_it():
    assert probe_quota(10, 0.3) == 3
    assert probe_quota(10, 0.0) == 0
    assert probe_quota(1, 0.5) == 0
    assert probe_quota(3, 0.9) == 2


def test_schedule_alternates_once_clear_and_catches_up_at_the_end():
    def run(clear_from: int) -> list[int]:
        done, last, probes = 0, False, []
        for it in range(1, 11):
            turn = is_probe_iteration(it, 10, 3, done, last, clear=it >= clear_from)
            done, last = done + turn, turn
            probes += [it] if turn else []
        return probes

    assert run(1) == [1, 3, 5]
    assert run(99) == [8, 9, 10]  # never clear: the owed probes come last, inside the budget


def test_ablations_drop_and_swap_one_attribute():
    made = [p.concept for p in ablations("red vertical stripes", frozenset(), random.Random(0))]
    assert "gray vertical stripes on silver" in made  # colour dropped
    assert "red" in made  # pattern dropped
    assert any(c.endswith("vertical stripes") and not c.startswith(("red", "gray")) for c in made)
    assert any(c.startswith("red") and "vertical" not in c and c != "red" for c in made)


def test_probe_iterations_are_tagged_and_counted_in_the_budget(tmp_path):
    config = ExplainConfig(
        model="planted",
        layer="units",
        neuron=12,
        iterations=3,
        images_per_concept=2,
        control_size=10,
        probe_share=0.34,
        runs_dir=str(tmp_path),
    )
    explainer = engine.start(config).explainer
    list(explainer.run())
    history = load_history(explainer.store.run_dir)
    assert [d.iteration for d in history.completed] == [0, 1, 2, 3, 4]  # K = 3, plus summary
    probe_iterations = {p.iteration for p in history.proposals if p.source == Source.PROBE}
    assert len(probe_iterations) == probe_quota(3, 0.34) == 1
    [it] = probe_iterations
    scored = [r for r in history.records if r.iteration == it]
    assert len(scored) >= 2 and all(r.source == Source.PROBE for r in scored)
    others = [p for p in history.proposals if 1 <= p.iteration <= 3 and p.iteration != it]
    assert others and all(p.source != Source.PROBE for p in others)
    # the image-side evidence of the probes reads each score's images and activations, live
    # and in the state a resumed run rebuilds from the record
    for state in (explainer.state, LoopState.from_history(history)):
        kept = list(state.scores.values())
        assert kept and all(len(r.images) == len(r.activations) == 2 for r in kept)
        assert all((explainer.store.run_dir / r.images[0]).is_file() for r in kept)


def _scored(concept: str, auc: float, mean: float) -> ScoredConcept:
    return ScoredConcept(concept, Score(auc=auc, mad=mean, mean_activation=mean), "lexicon")


def test_a_diluted_second_driver_is_isolated_in_the_first_probe_batch():
    # blue fires fully; yellow only shows inside a mixture (weak mean, AUC clearly above chance)
    scores = {c.concept: c for c in [
        _scored("blue", 0.98, 3.0), _scored("blue hexagons", 0.89, 1.9),
        _scored("yellow crosses", 0.78, 0.7), _scored("waves", 0.55, 0.1),
    ]}
    probes = [p.concept for p in plan_probes(scores, 0.0, ["checkerboard", "stars"],
                                             lambda c: c not in scores, seed=0)]
    assert "yellow" in probes[:3]  # the candidate's colour alone
    assert any("crosses" in p and "yellow" not in p for p in probes)  # its shape without colour
    # a concept at chance sharing nothing with the best is no candidate
    weak = {**scores, "yellow crosses": _scored("yellow crosses", 0.6, 0.2)}
    assert "yellow" not in [p.concept for p in plan_probes(weak, 0.0, [], lambda c: c not in weak,
                                                           seed=0)]


def test_an_attribute_is_isolated_only_when_shown_alone():
    assert isolated_atom("cyan") == "colour:cyan"
    assert isolated_atom("gray polka dots on silver") == "pattern:polka dots"
    assert isolated_atom("vertical stripes") == "pattern:vertical stripes"
    assert isolated_atom("cyan rings") is None  # a mixture isolates nothing
    assert isolated_atom("red vertical stripes") is None


def test_once_clear_the_untried_attributes_are_probed_alone_evidence_first():
    scores = [
        _scored("yellow", 0.98, 3.0),  # the best, shown alone
        _scored("cyan rings", 0.85, 0.4),  # cyan seen firing, never alone
        _scored("polka dots", 0.5, 0.0),  # polka dots already tried alone
        _scored("green squares", 0.5, 0.0),
    ]
    vocabulary = ["cyan", "teal", "green", "polka dots", "checkerboard", "rings", "green squares"]
    avoid = frozenset({"colour:yellow"})
    probes = unlike(vocabulary, avoid, scores, random.Random(0))
    concepts = [p.concept for p in probes]
    assert concepts[0] == "cyan"  # the evidence first, by its plain name ("teal" is cyan too)
    assert "teal" not in concepts[:5]
    singles = concepts[: concepts.index("gray checkerboard on silver") + 1]
    assert "polka dots" not in singles and "gray polka dots on silver" not in singles
    assert "gray rings on silver" in singles  # a pattern drawn in colours of no hue
    # while the best is not clear the search covers most attributes per probe instead
    broad = unlike(vocabulary, avoid, scores[1:], random.Random(0), isolate=False)
    assert broad[0].concept not in {"cyan", "teal", "gray rings on silver"}


def test_a_best_that_shows_one_attribute_alone_gets_no_ablations():
    scores = {c.concept: c for c in [_scored("yellow", 0.98, 3.0), _scored("waves", 0.5, 0.0)]}
    probes = plan_probes(scores, 0.0, ["cyan", "checkerboard"], lambda c: c not in scores, seed=0)
    assert probes and not any("yellow" in p.concept for p in probes)
    assert {p.concept for p in probes} >= {"cyan", "gray checkerboard on silver"}
