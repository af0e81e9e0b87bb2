"""Parsing raw LLM text into (concept, reasoning): shapes accepted, validation, never raising."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from line_core.proposers.parsing import (
    MAX_WORDS,
    ParsedAnswer,
    lenient_candidates,
    parse_answer,
    validate_concept,
)


@pytest.mark.parametrize(
    ("text", "concept", "reasoning"),
    [
        ('{"reasoning": "yellow wins", "concept": "yellow tiles"}', "yellow tiles", "yellow wins"),
        ('```json\n{"concept": "Red Dots", "reasoning": "r"}\n```', "red dots", "r"),
        ('Sure! Here it is: {"concept": "blue waves"} Hope it helps.', "blue waves", ""),
        ('{"reasoning": "r", "concept": "green dots"', "green dots", "r"),  # unclosed object
        ("<reasoning>stripes win</reasoning>\n<concept>zigzag lines</concept>", "zigzag lines",
         "stripes win"),
        ("<concept>purple grid", "purple grid", ""),
        ("Reasoning: the top ones are red\nConcept: red spirals", "red spirals",
         "the top ones are red"),
        ("**New concept:** *orange rings*", "orange rings", ""),
        (" blue balls 0.92;", "blue balls", ""),
        (" yellow checkerboard, orange squares, yellow", "yellow checkerboard", ""),
        ("\n\n  teal hexagons\nand more text", "teal hexagons", ""),
    ],
)
def test_accepted_shapes(text, concept, reasoning):
    parsed = parse_answer(text)
    assert parsed.ok, parsed.error
    assert parsed.concept == concept
    assert parsed.reasoning == reasoning


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ('"A photo of a red car."', "red car"),
        ("an orange", "orange"),
        ("The Eiffel Tower!", "eiffel tower"),
        ("a realistic photo of zig-zag stripes", "zig-zag stripes"),
        ("red (0.91)", "red"),
        ("`blue stars`", "blue stars"),
    ],
)
def test_validate_cleans(raw, clean):
    assert validate_concept(raw) == (clean, None)


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("", "empty"),
        ("the", "empty"),
        ("one two three four five", "5 words"),
        ("x1 stripes", "letters"),
        ("red_stripes", "letters"),
        ("a" * 40, "longer"),
        ("word " * 100, "characters long"),
        ("blue blue", "repeats a word"),
    ],
)
def test_validate_rejects_with_reason(raw, fragment):
    concept, error = validate_concept(raw)
    assert concept is None
    assert fragment in error


def test_invalid_json_concept_reports_the_validation_error():
    parsed = parse_answer('{"reasoning": "r", "concept": "one two three four five six"}')
    assert not parsed.ok
    assert "6 words" in parsed.error


def test_empty_and_junk_answers_fail_cleanly():
    assert parse_answer("").error == "the answer is empty"
    assert not parse_answer("12345 !!! ???").ok
    assert not parse_answer(None).ok
    assert isinstance(parse_answer(b"\xff\xfe"), ParsedAnswer)


def test_lenient_candidates_recover_phrases():
    text = 'The new concept is: "blue stripes"; also red dots, and {"concept": 12}'
    found = lenient_candidates(text)
    assert "blue stripes" in found
    assert "red dots" in found
    assert all(1 <= len(c.split()) <= MAX_WORDS for c in found)


def _is_valid_concept(concept: str) -> bool:
    words = concept.split()
    return (
        1 <= len(words) <= MAX_WORDS
        and len(set(words)) == len(words)
        and concept == concept.lower()
        and all(part.isalpha() for w in words for part in w.split("-"))
    )


junk = st.one_of(
    st.text(max_size=300),
    st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
    st.lists(st.sampled_from(["{", "}", '"', "concept", ":", "<concept>", "```", "json", "\n",
                              "a", "red", " ", "0.9", ";", ",", "\\", "[", "]"]),
             max_size=60).map("".join),
    st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20)),
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(st.sampled_from(["concept", "reasoning", "x"]), children, max_size=3),
        ),
        max_leaves=10,
    ).map(json.dumps),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(junk)
def test_parse_never_raises_and_returns_a_valid_concept_or_an_error(text):
    parsed = parse_answer(text)
    assert isinstance(parsed, ParsedAnswer)
    if parsed.ok:
        assert _is_valid_concept(parsed.concept)
        assert parsed.error is None
    else:
        assert parsed.error


@settings(max_examples=200, deadline=None)
@given(junk)
def test_lenient_never_raises_and_yields_valid_concepts(text):
    for concept in lenient_candidates(text):
        assert _is_valid_concept(concept)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_validate_is_idempotent(text):
    concept, error = validate_concept(text)
    if concept is not None:
        assert validate_concept(concept) == (concept, None)
    else:
        assert error


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["red", "blue", "zigzag", "stripes", "dots"]), min_size=1,
                max_size=MAX_WORDS, unique=True).map(" ".join), st.text(max_size=40))
def test_json_answers_round_trip(concept, reasoning):
    text = json.dumps({"reasoning": reasoning, "concept": concept})
    parsed = parse_answer(text)
    assert parsed.concept == concept
    assert parsed.reasoning == reasoning.strip()


@pytest.mark.parametrize("text", ["none", "null", '{"concept": "Concept"}', '{"concept": null}'])
def test_placeholders_are_not_concepts(text):
    assert not parse_answer(text).ok
