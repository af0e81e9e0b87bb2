"""Driver grouping on histories whose answer is known by construction (no MiniLM, no model)."""

from __future__ import annotations

import numpy as np
import pytest
from run_fixtures import synthetic_history, trigram_embedder

from line_core.analysis import polysemanticity
from line_core.analysis.attributes import attributes, colour_family
from line_core.analysis.drivers import best_of_tie, find_drivers, join_terms, strengths
from line_core.analysis.formula import Term, search_formula
from line_core.concepts import Score
from line_core.generators.procedural.colours import COLOURS
from line_core.record.history import ScoredRecord


def _record(concept: str, auc: float, mean: float, source: str = "llm") -> ScoredRecord:
    score = Score(auc=auc, mad=mean, mean_activation=mean, auc_low=auc - 0.05, auc_high=1.0)
    return ScoredRecord(concept, score, source, iteration=1, activations=(mean,) * 5)


def _at_chance(*concepts: str) -> list[ScoredRecord]:
    """Concepts that leave the unit at its control level."""
    return [_record(c, 0.5, 0.0) for c in concepts]


def test_colour_words_share_an_atom_and_orientation_refines_the_pattern():
    assert attributes("crimson") == attributes("scarlet") == {"colour:red"}
    assert attributes("vertical bars") == {"pattern:stripes", "pattern:vertical stripes"}
    assert attributes("gray vertical stripes on silver") >= {"colour:gray", "pattern:stripes"}
    assert "word:retriever" in attributes("a golden retriever")


def test_every_basic_colour_word_falls_in_its_own_family():
    # the families are the renderer's basic colour words: "purple" is not pink, "brown" not red
    for word in ("red", "orange", "yellow", "green", "cyan", "blue", "purple", "pink", "brown",
                 "white", "black", "gray"):
        assert colour_family(COLOURS[word]) == word, word
    assert colour_family(COLOURS["magenta"]) == "purple"
    assert colour_family(COLOURS["maroon"]) == "brown"


def test_or_history_is_two_groups_and_the_mixing_phrase_joins_nothing():
    history, control = synthetic_history("or")
    report = polysemanticity(history, control=control, embedder=trigram_embedder)
    groups = sorted(sorted(g.concepts) for g in report.groups)
    assert groups == [["crimson", "red"], ["vertical bars", "vertical stripes"]]
    assert report.verdict == "two independent drivers"
    assert " OR " in report.formula
    assert report.score == pytest.approx(2.0, abs=0.15)
    # the separating test: a stripes concept without red still drives the unit
    stripes = next(g for g in report.groups if "vertical stripes" in g.concepts)
    assert any(not t.needed and t.attribute == "red" for t in stripes.tests)


def test_synonyms_history_is_one_group():
    history, control = synthetic_history("mono")
    report = polysemanticity(history, control=control, embedder=trigram_embedder)
    assert report.n_groups == 1
    assert {"red", "crimson", "scarlet dots", "red stripes"} <= set(report.groups[0].concepts)
    assert report.verdict == "one driver, phrased many ways"
    assert report.score == pytest.approx(1.0)


def test_a_weak_activator_is_not_a_group():
    # a colourful concept at a third of red's rise: AUC near 1 against the control, not a driver
    history, control = synthetic_history("mono", level_overrides={"pink flowers": 2.2})
    report = polysemanticity(history, control=control, embedder=trigram_embedder)
    assert report.n_groups == 1 and report.score == pytest.approx(1.0)
    assert "pink flowers" not in report.high_concepts


def test_tie_at_saturated_auc_goes_to_the_strongest():
    members = [
        _record("red circles", 1.0, 0.4),
        _record("red", 1.0, 0.9),
        _record("a red thing", 0.99, 0.5),
    ]
    strength = strengths(members, baseline=0.0)
    assert best_of_tie(members, strength).concept == "red"


def test_formula_reads_or_and_and_from_the_strengths():
    atoms = [
        frozenset(a)
        for a in (
            {"red"},
            {"red", "circle"},
            {"stripes"},
            {"stripes", "blue"},
            {"blue"},
            {"circle"},
            {"green"},
        )
    ]
    either = search_formula(atoms, [1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0])
    assert sorted(t.text() for t in either.terms) == ["red", "stripes"]
    both = search_formula(atoms, [0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    assert [t.text() for t in both.terms] == ["circle AND red"]


def test_terms_sharing_a_required_atom_are_one_driver():
    joined = join_terms(
        [
            Term(frozenset({"black", "dots"})),
            Term(frozenset({"black", "star"})),
            Term(frozenset({"red"})),
        ]
    )
    assert sorted(t.text() for t in joined) == ["black", "red"]


def test_and_unit_is_one_group_naming_both_with_the_evidence():
    records = [
        _record("red vertical stripes", 1.0, 1.0),
        _record("crimson vertical bars", 1.0, 0.95),
        _record("red", 0.6, 0.05, "probe"),
        _record("gray vertical stripes on silver", 0.55, 0.03, "probe"),
        _record("blue checkerboard", 0.5, 0.0),
        _record("green", 0.5, 0.0),
    ]
    found = find_drivers(
        records, auc_threshold=0.9, control=np.zeros(10), embedder=trigram_embedder
    )
    assert len(found.drivers) == 1
    driver = found.drivers[0]
    assert set(driver.atoms) == {"colour:red", "pattern:vertical stripes"}
    needed = {t.attribute for t in driver.tests if t.needed}
    assert needed == {"red", "vertical stripes"}
    assert found.verdict.startswith("one driver that needs")


def test_a_strong_concept_naming_the_plain_pattern_joins_the_oriented_group():
    records = [
        _record("diagonal stripes", 0.98, 1.0),
        _record("gray diagonal stripes on silver", 0.97, 0.95),
        _record("yellow diagonal stripes", 0.96, 0.9),
        _record("red stripes on a blue background", 0.9, 0.6),  # drawn at a slant by chance
        _record("horizontal stripes", 0.55, 0.05),
        _record("gray horizontal stripes on silver", 0.52, 0.02),
        *_at_chance("vertical stripes", "red", "blue", "polka dots"),
    ]
    analysis = find_drivers(records, 0.85, control=[0.0] * 10)
    assert "diagonal stripes" in analysis.formula.text()
    assert "AND" not in analysis.formula.text() and "OR" not in analysis.formula.text()
    assert len(analysis.drivers) == 1
    assert "red stripes on a blue background" in [r.concept for r in analysis.drivers[0].members]


def test_strong_concepts_no_term_covers_group_by_the_atom_they_all_share():
    records = [
        _record("orange", 1.0, 1.0),
        _record("dark orange", 0.99, 0.98),
        _record("orange circles", 0.98, 0.9),
        _record("green checkerboard", 0.96, 0.54),
        _record("cyan checkerboard", 0.95, 0.52),
        *_at_chance("red", "blue", "green", "vertical stripes", "polka dots", "cyan",
                    "cyan circles"),
        _record("checkerboard", 0.7, 0.2),  # most checkerboards fire weakly: no formula term
        _record("black checkerboard", 0.6, 0.1),
        _record("red checkerboard", 0.6, 0.1),
    ]
    analysis = find_drivers(records, 0.9, control=[0.0] * 10)
    assert analysis.formula.text() == "orange"
    members = sorted(sorted(r.concept for r in d.members) for d in analysis.drivers)
    assert ["cyan checkerboard", "green checkerboard"] in members
    assert len(analysis.drivers) == 2
