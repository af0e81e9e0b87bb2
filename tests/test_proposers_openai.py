"""The OpenAI-compatible backend against a real HTTP server on 127.0.0.1."""

import json
import logging

import pytest
from fake_openai_server import FakeOpenAIServer, Reply, closed_port, ok

from line_core.concepts import ScoredConcept, normalise
from line_core.embeddings import hashing_embed
from line_core.errors import BackendError, ConfigError
from line_core.proposers import PROPOSERS, ProposalRequest
from line_core.proposers.llm import LLMProposer
from line_core.proposers.novelty import NoveltyChecker
from line_core.proposers.openai_http import split_spec

SECRET = "sk-test-very-secret-key"
POOL = [ScoredConcept.of("yellow checkerboard", 0.91), ScoredConcept.of("orange squares", 0.8)]


def _request():
    return ProposalRequest(pool=list(POOL), forbidden={normalise(c.concept) for c in POOL},
                           iteration=1, seed=3, generator_description="Draws patterns.")


def _proposer(url, **options):
    options.setdefault("backoff", 0.01)
    proposer = PROPOSERS.create(f"openai:{url}/test-model", seed=0, **options)
    assert isinstance(proposer, LLMProposer)
    proposer.checker = NoveltyChecker(embedder=hashing_embed)
    return proposer


@pytest.fixture
def api_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)


def test_split_spec():
    assert split_spec("http://127.0.0.1:8000/v1/my-model") == ("http://127.0.0.1:8000/v1",
                                                               "my-model")
    assert split_spec("https://api.example.com/v1/gpt-4o-mini/") == (
        "https://api.example.com/v1", "gpt-4o-mini")
    assert split_spec("http://127.0.0.1:8000/v1/meta-llama/Llama-3.1-8B-Instruct") == (
        "http://127.0.0.1:8000/v1", "meta-llama/Llama-3.1-8B-Instruct")
    for bad in ["my-model", "http://host", "ftp//x"]:
        with pytest.raises(ConfigError):
            split_spec(bad)


def test_good_json_answer_and_the_request_it_came_from(api_key, caplog):
    with FakeOpenAIServer([ok("yellow tiles", "refines the checkerboard")]) as server:
        proposer = _proposer(server.url)
        with caplog.at_level(logging.DEBUG):
            proposal = proposer.propose(_request())
    assert (proposal.concept, proposal.reasoning, proposal.source) == (
        "yellow tiles", "refines the checkerboard", "llm")
    [request] = server.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["Authorization"] == f"Bearer {SECRET}"
    body = request.body
    assert body["model"] == "test-model"
    assert (body["temperature"], body["top_p"]) == (0.5, 0.9)
    schema = body["response_format"]["json_schema"]["schema"]
    assert schema["required"] == ["reasoning", "concept"]
    assert schema["additionalProperties"] is False
    assert body["messages"][0]["role"] == "system"
    assert "Draws patterns." in body["messages"][1]["content"]
    for text in (proposal.raw, proposal.reasoning, repr(proposer), repr(proposer.backend),
                 caplog.text):
        assert SECRET not in text


def test_malformed_json_gets_one_retry_with_the_error():
    script = [Reply(content='{"concept": "yellow'), ok("yellow grid")]
    with FakeOpenAIServer(script) as server:
        proposal = _proposer(server.url).propose(_request())
    assert proposal.concept == "yellow grid"
    retry = server.requests[1].body["messages"]
    assert retry[-2] == {"role": "assistant", "content": '{"concept": "yellow'}
    assert "rejected" in retry[-1]["content"]
    assert "[1] {\"concept\": \"yellow" in proposal.raw


@pytest.mark.parametrize("status", [500, 503, 429])
def test_transient_errors_are_retried(status):
    script = [Reply(status=status, body=json.dumps({"error": "busy"})), ok("orange grid")]
    with FakeOpenAIServer(script) as server:
        proposal = _proposer(server.url).propose(_request())
    assert proposal.concept == "orange grid"
    assert len(server.requests) == 2


def test_retries_are_bounded():
    with FakeOpenAIServer([Reply(status=500, body="{}")]) as server:
        with pytest.raises(BackendError, match=r"failed after 3 tries \(HTTP 500\)"):
            _proposer(server.url).propose(_request())
    assert len(server.requests) == 3


def test_slow_answer_times_out_then_succeeds():
    script = [Reply(content=json.dumps({"reasoning": "", "concept": "late"}), delay=1.0),
              ok("gold grid")]
    with FakeOpenAIServer(script) as server:
        proposal = _proposer(server.url, timeout=0.3).propose(_request())
    assert proposal.concept == "gold grid"


def test_timeouts_are_bounded():
    with FakeOpenAIServer([Reply(content="{}", delay=0.6)]) as server:
        with pytest.raises(BackendError, match=r"no answer within 0.2 s"):
            _proposer(server.url, timeout=0.2, max_tries=2).propose(_request())


def test_authentication_failure_is_one_clear_line(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("MY_KEY", SECRET)
    with FakeOpenAIServer([Reply(status=401, body='{"error": "bad key"}')]) as server:
        with pytest.raises(BackendError) as info:
            _proposer(server.url, api_key_env="MY_KEY").propose(_request())
    assert str(info.value) == f"authentication failed for {server.url}: set MY_KEY"
    assert server.requests[0].headers["Authorization"] == f"Bearer {SECRET}"
    assert len(server.requests) == 1


def test_no_key_sends_no_authorization(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with FakeOpenAIServer([ok("teal dots")]) as server:
        _proposer(server.url).propose(_request())
    assert "Authorization" not in server.requests[0].headers


def test_refused_connection():
    url = f"http://127.0.0.1:{closed_port()}/v1"
    with pytest.raises(BackendError) as info:
        _proposer(url).propose(_request())
    assert str(info.value) == f"cannot reach {url}: is the server running?"


def test_server_without_json_schema_support_is_retried_without_it():
    script = [Reply(status=400, body='{"error": "response_format not supported"}'),
              Reply(content="Concept: navy stripes")]
    with FakeOpenAIServer(script) as server:
        proposal = _proposer(server.url).propose(_request())
    assert proposal.concept == "navy stripes"
    assert "response_format" in server.requests[0].body
    assert "response_format" not in server.requests[1].body


def test_non_completion_reply_is_a_backend_error():
    with FakeOpenAIServer([Reply(body="<html>proxy page</html>")]) as server:
        with pytest.raises(BackendError, match="not a chat completion"):
            _proposer(server.url).propose(_request())


def test_model_option_allows_slashes_and_fallback_wraps():
    with FakeOpenAIServer([ok("yellow checkerboard")]) as server:
        proposer = PROPOSERS.create(f"openai:{server.url}", model="org/model-7b", fallback=True,
                                    backoff=0.01)
        proposer.llm.checker = NoveltyChecker(embedder=hashing_embed)
        proposer.lexicon = type(proposer.lexicon)(None, 0, vocabulary=["red dots"],
                                                  use_imagenet=False, embedder=hashing_embed)
        proposal = proposer.propose(_request())
    assert server.requests[0].body["model"] == "org/model-7b"
    assert proposal.source == "lexicon"
    assert normalise(proposal.concept) not in _request().forbidden
    assert "lexicon fallback" in proposal.reasoning
