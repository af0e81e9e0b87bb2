"""The shared LLM proposer: prompts, validation, retry, lenient extraction, and the fallback."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from line_core.concepts import ScoredConcept, normalise
from line_core.embeddings import hashing_embed
from line_core.proposers import ProposalRequest
from line_core.proposers.fallback import FallbackProposer
from line_core.proposers.lexicon import LexiconProposer
from line_core.proposers.llm import LLMProposer, LLMSettings, Sampling
from line_core.proposers.novelty import NoveltyChecker
from line_core.proposers.prompting import (
    ANSWER_SCHEMA,
    FORBIDDEN_SHOWN,
    chat_messages,
    completion_prompt,
    shown_forbidden,
)

POOL = [ScoredConcept.of("yellow checkerboard", 0.91, 2.0, "seed"),
        ScoredConcept.of("orange squares", 0.80, 1.5, "seed"),
        ScoredConcept.of("yellow stripes", 0.74, 1.0, "seed"),
        ScoredConcept.of("green dots", 0.52, 0.3, "seed"),
        ScoredConcept.of("blue waves", 0.33, 0.1, "seed")]


def _request(**kw):
    kw.setdefault("pool", list(POOL))
    kw.setdefault("forbidden", {normalise(c.concept) for c in kw["pool"]})
    kw.setdefault("iteration", 1)
    kw.setdefault("seed", 11)
    return ProposalRequest(**kw)


class ScriptedBackend:
    """Returns scripted batches of raw texts and records every call."""

    name = "scripted"

    def __init__(self, *batches):
        self.batches = list(batches)
        self.calls = []

    def _next(self, kind, prompt, n, seed, sampling):
        self.calls.append((kind, prompt, n, seed, sampling))
        batch = self.batches.pop(0) if len(self.batches) > 1 else self.batches[0]
        return list(batch)[:n] if kind == "complete" else list(batch)

    def complete(self, prompt, *, n, seed, sampling):
        return self._next("complete", prompt, n, seed, sampling)

    def chat(self, messages, *, n, seed, sampling):
        return self._next("chat", messages, n, seed, sampling)


def _llm(backend, style="completion", **kw):
    checker = NoveltyChecker(embedder=hashing_embed)
    return LLMProposer(backend, LLMSettings(style=style, **kw), checker=checker)


# -- prompts ---------------------------------------------------------------------------------
def test_completion_prompt_has_examples_pool_description_and_bounded_forbidden():
    history = [ScoredConcept.of(f"tried concept {i}", 0.2, 0.0, "llm") for i in range(40)]
    request = _request(history=history, forbidden={normalise(h.concept) for h in history},
                       generator_description="Draws stripes and dots.")
    prompt = completion_prompt(request, "ignored when the request has one")
    assert prompt.endswith("Scored concepts: yellow checkerboard 0.91; orange squares 0.80; "
                           "yellow stripes 0.74; green dots 0.52; blue waves 0.33\nNew concept:")
    assert prompt.count("New concept:") == 4  # three worked examples, then the real pool
    assert "ignored when" in prompt  # the description argument is what gets shown
    shown = shown_forbidden(request)
    assert len(shown) == FORBIDDEN_SHOWN
    assert shown[0] == "tried concept 39"  # most recent first
    assert "tried concept 39" in prompt and "tried concept 5," not in prompt
    assert "yellow checkerboard" not in shown  # the pool is already listed
    assert "Already tried" not in completion_prompt(request, show_forbidden=False)


def test_summary_prompts_show_only_the_top_three():
    request = _request(summary=True)
    prompt = completion_prompt(request)
    assert prompt.endswith("Top concepts: yellow checkerboard 0.91; orange squares 0.80; "
                           "yellow stripes 0.74\nSummary concept:")
    messages = chat_messages(request, "Draws patterns.")
    assert "generalises all three" in messages[1]["content"]
    assert "green dots" not in messages[1]["content"]
    assert "Draws patterns." in messages[1]["content"]


def test_chat_messages_ask_for_json():
    messages = chat_messages(_request())
    assert [m["role"] for m in messages] == ["system", "user"]
    assert '{"reasoning"' in messages[0]["content"]
    assert "- yellow checkerboard: 0.91" in messages[1]["content"]
    assert ANSWER_SCHEMA["required"] == ["reasoning", "concept"]


# -- answer handling ---------------------------------------------------------------------------
def test_first_valid_new_candidate_wins_and_raw_is_logged():
    backend = ScriptedBackend([" yellow checkerboard\n", " ###\n", " yellow tiles 0.9;", " red"])
    proposal = _llm(backend).propose(_request())
    assert proposal.concept == "yellow tiles"
    assert proposal.source == "llm"
    assert "[1] yellow checkerboard" in proposal.raw and "[3] yellow tiles" in proposal.raw
    assert any("already tried" in r for r in proposal.rejected)
    assert any("invalid answer" in r for r in proposal.rejected)
    kind, prompt, n, seed, sampling = backend.calls[0]
    assert (kind, n, seed) == ("complete", 6, 11)
    assert sampling == Sampling(0.5, 0.9, 8, None, stop=("\n",))


def test_retry_tells_a_chat_model_what_was_wrong():
    bad = json.dumps({"reasoning": "r", "concept": "a very long concept with many words"})
    good = json.dumps({"reasoning": "refines the best", "concept": "yellow grid"})
    backend = ScriptedBackend([bad], [good])
    proposal = _llm(backend, style="chat", n_candidates=1).propose(_request())
    assert (proposal.concept, proposal.reasoning) == ("yellow grid", "refines the best")
    retry = backend.calls[1][1]
    assert retry[-2] == {"role": "assistant", "content": bad}
    assert "rejected" in retry[-1]["content"] and "words" in retry[-1]["content"]
    assert backend.calls[0][4].schema == ANSWER_SCHEMA
    assert backend.calls[1][3] != backend.calls[0][3]  # a different seed for the retry


def test_completion_retry_samples_hotter_and_lists_the_repeats():
    backend = ScriptedBackend([" grey fog"] * 6, [" purple stars"] * 6)
    request = _request()
    request.forbidden |= {"grey fog", "red ring"}
    proposal = _llm(backend).propose(request)
    assert proposal.concept == "purple stars"
    assert "(retry sample 1 of 6;" in proposal.reasoning
    second = backend.calls[1]
    assert second[4].temperature == pytest.approx(0.8)
    assert "Already tried, never repeat: grey fog, red ring." in second[1]
    assert "Already tried, never repeat: grey fog, red ring." in backend.calls[0][1]


def test_lenient_extraction_is_the_last_resort():
    junk = "I think the answer is: yellow zigzag!!! 0.99 ### 12"
    backend = ScriptedBackend(["<concept></concept>" + junk])
    proposal = _llm(backend, style="chat", n_candidates=1).propose(_request())
    assert proposal.concept == "yellow zigzag"
    assert "lenient extraction" in proposal.reasoning


def test_only_repeats_give_an_honest_non_new_proposal():
    backend = ScriptedBackend([" orange squares", " Yellow stripes!", " 42"])
    proposal = _llm(backend, n_candidates=3).propose(_request())
    assert normalise(proposal.concept) == "orange square"  # the loop sees a repeat
    assert "no new concept" in proposal.reasoning
    assert len(proposal.rejected) == 6


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text(max_size=120), min_size=0, max_size=6), st.sampled_from(["chat",
                                                                              "completion"]))
def test_junk_model_output_never_crashes(texts, style):
    backend = ScriptedBackend(texts)
    proposal = _llm(backend, style=style).propose(_request())
    assert isinstance(proposal.concept, str)
    assert proposal.source == "llm"


# -- fallback ----------------------------------------------------------------------------------
def _fallback(backend, **kw):
    lexicon = LexiconProposer(None, 0, vocabulary=["red dots", "purple grid", "yellow tiles"],
                              use_imagenet=False, embedder=hashing_embed, explore=0.0)
    return FallbackProposer(_llm(backend), lexicon, **kw)


def test_fallback_passes_good_llm_proposals_through():
    proposal = _fallback(ScriptedBackend([" yellow grid"])).propose(_request())
    assert (proposal.concept, proposal.source) == ("yellow grid", "llm")


def test_fallback_on_repeats_uses_the_lexicon_and_says_why():
    backend = ScriptedBackend([" yellow checkerboard", " orange squares"])
    proposal = _fallback(backend).propose(_request())
    assert proposal.source == "lexicon"
    assert proposal.reasoning.startswith("lexicon fallback: all 4 LLM samples were repeats")
    assert normalise(proposal.concept) not in _request().forbidden
    assert "[1] yellow checkerboard" in proposal.raw  # the LLM's raw output is kept
    assert proposal.rejected


def test_fallback_after_a_poor_scoring_streak_then_the_llm_gets_new_chances():
    backend = ScriptedBackend([" yellow grid"])
    proposer = _fallback(backend)
    poor = [ScoredConcept.of("blue blobs", 0.30, 0.0, "llm"),
            ScoredConcept.of("grey fog", 0.35, 0.0, "llm")]
    proposal = proposer.propose(_request(history=list(POOL) + poor))
    assert proposal.source == "lexicon"
    assert "last 2 concepts ('blue blobs' 0.30, 'grey fog' 0.35)" in proposal.reasoning
    assert not backend.calls  # the LLM was not even asked
    after = list(POOL) + poor + [ScoredConcept.of("red dots", 0.6, 0.0, "lexicon")]
    assert proposer.propose(_request(history=after)).source == "llm"
    one_good = list(POOL) + [poor[0], ScoredConcept.of("gold grid", 0.95, 0.0, "llm")]
    assert proposer.propose(_request(history=one_good)).source == "llm"


def test_summary_requests_skip_the_poor_streak_rule():
    proposer = _fallback(ScriptedBackend([" yellow grid"]))
    poor = [ScoredConcept.of("a b", 0.1, 0.0, "llm"), ScoredConcept.of("c d", 0.1, 0.0, "llm")]
    assert proposer.propose(_request(history=poor, summary=True)).source == "llm"


def test_fallback_can_be_disabled_by_streak_zero():
    proposer = _fallback(ScriptedBackend([" yellow grid"]), poor_streak=0)
    poor = [ScoredConcept.of("a b", 0.1, 0.0, "llm"), ScoredConcept.of("c d", 0.1, 0.0, "llm")]
    assert proposer.propose(_request(history=poor)).source == "llm"
