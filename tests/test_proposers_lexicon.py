"""The lexicon proposer: deterministic, refines the pool's best, skips what was tried."""

import time

import pytest

from line_core.concepts import ScoredConcept, normalise
from line_core.embeddings import hashing_embed
from line_core.proposers import PROPOSERS, ProposalRequest
from line_core.proposers.lexicon import LexiconProposer
from line_core.proposers.mutations import colour_swaps, combinations, modifier_changes, mutate
from line_core.proposers.wordlists import imagenet_class_names

VOCABULARY = ["red stripes", "blue dots", "green grid", "yellow checkerboard", "white circles",
              "horizontal stripes", "spiral", "black squares", "orange waves", "pink hearts"]


def _pool(*pairs):
    return [ScoredConcept.of(c, a, 0.0, "seed") for c, a in pairs]


STRIPES_POOL = _pool(("red horizontal stripes", 0.95), ("blue dots", 0.55), ("green grid", 0.50),
                     ("spiral", 0.40), ("pink hearts", 0.30))


def _request(pool, iteration=1, seed=7, forbidden=(), summary=False, history=()):
    tried = {normalise(c.concept) for c in pool} | {normalise(f) for f in forbidden}
    return ProposalRequest(pool=list(pool), forbidden=tried, iteration=iteration, seed=seed,
                           summary=summary, history=list(history))


def _lexicon(**kw):
    kw.setdefault("vocabulary", VOCABULARY)
    kw.setdefault("embedder", hashing_embed)
    kw.setdefault("use_imagenet", False)
    return LexiconProposer(None, kw.pop("seed", 0), **kw)


def test_imagenet_names_come_from_timm():
    names = imagenet_class_names()
    assert len(names) >= 990
    assert "tench" in names and "goldfish" in names


def test_mutations():
    swaps = {m.concept for m in colour_swaps("red horizontal stripes")}
    assert "blue horizontal stripes" in swaps and "red horizontal stripes" not in swaps
    modified = {m.concept: m.change for m in modifier_changes("red horizontal stripes")}
    assert modified["red vertical stripes"] == "swapped 'horizontal' -> 'vertical'"
    assert modified["red stripes"] == "removed 'horizontal'"
    assert "small red horizontal stripes" in modified
    combined = {m.concept for m in combinations("yellow checkerboard", "red stripes")}
    assert {"yellow stripes", "red checkerboard", "yellow and red checkerboard"} <= combined
    assert all(1 <= len(m.concept.split()) <= 4 for m in mutate(["a b c d", "red dots"]))


def test_deterministic_for_the_same_request():
    a = _lexicon(seed=3).propose(_request(STRIPES_POOL))
    b = _lexicon(seed=3).propose(_request(STRIPES_POOL))
    assert (a.concept, a.reasoning, a.source) == (b.concept, b.reasoning, b.source)
    assert a.source == "lexicon"


def test_refines_the_best_and_explains_why():
    lexicon = _lexicon(explore=0.0)
    proposal = lexicon.propose(_request(STRIPES_POOL))
    assert {"stripes", "horizontal", "red"} & set(proposal.concept.split())
    assert proposal.reasoning.startswith("mutation of 'red horizontal stripes' (0.95)")


def test_never_repeats_a_forbidden_concept():
    lexicon = _lexicon(explore=0.2)
    request = _request(STRIPES_POOL)
    seen = []
    for i in range(25):
        request.iteration, request.seed = i, 100 + i
        proposal = lexicon.propose(request)
        key = normalise(proposal.concept)
        assert key and key not in request.forbidden, proposal
        request.forbidden.add(key)
        seen.append(proposal.concept)
    assert len(set(seen)) == 25


def test_exploration_share_is_seeded():
    lexicon = _lexicon(explore=0.5, seed=1)
    kinds = []
    for i in range(30):
        reasoning = lexicon.propose(_request(STRIPES_POOL, iteration=i, seed=i)).reasoning
        kinds.append(reasoning.startswith("seeded exploration"))
    assert 5 <= sum(kinds) <= 25
    again = [_lexicon(explore=0.5, seed=1).propose(_request(STRIPES_POOL, iteration=i, seed=i))
             .reasoning.startswith("seeded exploration") for i in range(30)]
    assert again == kinds


def test_empty_pool_explores_the_vocabulary():
    proposal = _lexicon().propose(_request([]))
    assert proposal.concept in VOCABULARY
    assert "pool is empty" in proposal.reasoning


def test_summary_generalises_the_top_three():
    pool = _pool(("yellow checkerboard", 0.91), ("yellow stripes", 0.88), ("yellow dots", 0.85),
                 ("blue waves", 0.3))
    proposal = _lexicon(explore=0.0).propose(_request(pool, summary=True))
    assert "yellow" in proposal.concept
    assert "min similarity to the top 3" in proposal.reasoning


def test_exhausted_vocabulary_returns_an_empty_concept():
    lexicon = _lexicon(vocabulary=["red"], explore=0.0)
    request = _request(_pool(("red", 0.9)))
    request.forbidden |= {normalise(m.concept) for m in mutate(["red"])}
    proposal = lexicon.propose(request)
    assert proposal.concept == "" and "exhausted" in proposal.reasoning


def test_registered_factory_ignores_unknown_options():
    proposer = PROPOSERS.create("lexicon", generator=None, seed=5, colour="irrelevant")
    assert proposer.name == "lexicon" and proposer.seed == 5


@pytest.mark.slow
def test_minilm_lexicon_with_the_procedural_generator():
    from line_core.generators import GENERATORS

    generator = GENERATORS.create("procedural")
    lexicon = PROPOSERS.create("lexicon", generator=generator, seed=42)
    lexicon.warm_up()
    pool = _pool(("red horizontal stripes", 0.93), ("orange squares", 0.80),
                 ("yellow stripes", 0.74), ("green dots", 0.52), ("blue waves", 0.33))
    request = _request(pool)
    times, concepts = [], []
    for i in range(6):
        request.iteration, request.seed = i, 42 + i
        started = time.perf_counter()
        proposal = lexicon.propose(request)
        times.append(time.perf_counter() - started)
        concepts.append(proposal.concept)
        request.forbidden.add(normalise(proposal.concept))
    related = [c for c in concepts if {"red", "stripes", "horizontal", "stripe"} & set(c.split())]
    assert len(related) >= 4, concepts
    assert len(set(concepts)) == 6
    print("lexicon seconds per proposal:", [round(t, 3) for t in times], concepts)
