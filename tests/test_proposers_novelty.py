"""Novelty: the canonical form of a concept, repeats and near-duplicates rejected."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from line_core.concepts import fold_plural, normalise
from line_core.embeddings import hashing_embed
from line_core.proposers.novelty import NoveltyChecker, is_contrast_swap


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("Red stripes!", "red stripe"),
        ("a red stripe", "red stripe"),
        ("  The   Blue-Dots. ", "blue dot"),
        ("puppies", "puppy"),
        ("glasses", "glass"),
        ("boxes", "box"),
        ("grass", "grass"),
        ("bus", "bus"),
        ("the", ""),
    ],
)
def test_normalise(text, canonical):
    assert normalise(text) == canonical


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_normalise_is_idempotent(text):
    once = normalise(text)
    assert normalise(once) == once
    assert once == once.strip() and "  " not in once


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz", max_size=12))
def test_fold_plural_is_idempotent(word):
    assert fold_plural(fold_plural(word)) == fold_plural(word)


def test_contrast_swaps():
    assert is_contrast_swap("red horizontal stripe", "red vertical stripe")
    assert is_contrast_swap("red stripe", "blue stripe")
    assert not is_contrast_swap("red stripe", "red dot")
    assert not is_contrast_swap("red stripe", "red stripe pattern")
    assert not is_contrast_swap("red vertical stripe", "blue horizontal stripe")


def test_repeats_are_rejected_after_normalisation():
    checker = NoveltyChecker(embedder=hashing_embed)
    forbidden = {normalise("red stripe")}
    reason = checker.check("Red stripes!", forbidden)
    assert reason is not None and "already tried" in reason
    assert checker.check("green dots", forbidden) is None
    assert checker.check("   ", forbidden) is not None


def test_near_duplicates_use_the_threshold():
    checker = NoveltyChecker(threshold=0.7, embedder=hashing_embed)
    reason = checker.check("red stripe pattern", {"red stripe"})
    assert reason is not None and "near-duplicate of tried 'red stripe'" in reason
    assert checker.check("blue dots", {"red stripe"}) is None


def test_check_many_matches_check():
    checker = NoveltyChecker(threshold=0.7, embedder=hashing_embed)
    forbidden = {"red stripe", "blue dot"}
    concepts = ["Red Stripes", "red stripe pattern", "yellow grid", "", "blue dots!"]
    assert checker.check_many(concepts, forbidden) == [
        checker.check(c, forbidden) for c in concepts
    ]


@pytest.mark.slow
def test_near_duplicates_with_minilm():
    checker = NoveltyChecker()
    tried = {normalise(c) for c in ["red dots", "red horizontal stripes", "yellow checkerboard"]}
    assert "already tried" in checker.check("Red dot!", tried)
    assert "near-duplicate" in checker.check("yellow checker board", tried)  # cosine ~0.97
    assert "near-duplicate" in checker.check("checkerboard, yellow", tried)  # ~0.96
    # MiniLM puts these at ~0.97, but they render differently: a contrast swap is new.
    assert checker.check("red vertical stripes", tried) is None
    assert checker.check("yellow tiles", tried) is None  # ~0.51
    assert checker.check("golden retriever", tried) is None
