"""Local transformers proposers: the model cache, the offline presets, junk output, errors."""

import threading
import time

import pytest

from line_core import model_cache
from line_core.concepts import ScoredConcept, normalise
from line_core.errors import ConfigError, MissingWeightsError
from line_core.proposers import PROPOSERS, ProposalRequest
from line_core.proposers.fallback import FallbackProposer
from line_core.proposers.llm import LLMProposer

POOL = [ScoredConcept.of("yellow checkerboard", 0.91), ScoredConcept.of("orange squares", 0.80),
        ScoredConcept.of("yellow stripes", 0.74), ScoredConcept.of("green dots", 0.52),
        ScoredConcept.of("blue waves", 0.33), ScoredConcept.of("white noise", 0.20)]


def _request(seed=42, iteration=1, **kw):
    return ProposalRequest(pool=list(POOL), forbidden={normalise(c.concept) for c in POOL},
                           iteration=iteration, seed=seed, **kw)


# -- the model cache (fast) ----------------------------------------------------------------
@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("LINE_CACHE_DIR", str(tmp_path))
    return tmp_path


def _writer(calls):
    def build(out):
        calls.append(out)
        (out / "weights.bin").write_text("w")

    return build


def test_cache_builds_once_and_records_its_source(cache_dir):
    calls = []
    folder = model_cache.cached_folder("toy", "src:1", _writer(calls))
    assert folder == cache_dir / "models" / "toy"
    assert (folder / "weights.bin").read_text() == "w"
    assert model_cache.is_cached("toy", "src:1")
    assert model_cache.cached_folder("toy", "src:1", _writer(calls)) == folder
    assert len(calls) == 1
    model_cache.cached_folder("toy", "src:2", _writer(calls))  # a new source rebuilds
    assert len(calls) == 2 and model_cache.is_cached("toy", "src:2")
    assert sorted(p.name for p in (cache_dir / "models").iterdir()) == ["toy"]


def test_a_crashed_conversion_leaves_no_cache(cache_dir):
    def crash(out):
        (out / "half.bin").write_text("partial")
        raise RuntimeError("killed mid-way")

    with pytest.raises(RuntimeError):
        model_cache.cached_folder("toy", "src:1", crash)
    assert not (cache_dir / "models" / "toy").exists()
    assert list((cache_dir / "models").iterdir()) == []
    assert model_cache.cached_folder("toy", "src:1", _writer([])).is_dir()


def test_concurrent_builders_agree(cache_dir):
    results, errors = [], []

    def slow_build(out):
        time.sleep(0.2)
        (out / "weights.bin").write_text("w")

    def run():
        try:
            results.append(model_cache.cached_folder("toy", "src:1", slow_build))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(set(results)) == 1 and model_cache.is_cached("toy", "src:1")
    assert [p.name for p in (cache_dir / "models").iterdir()] == ["toy"]


def test_cache_root_defaults_to_home(monkeypatch, tmp_path):
    monkeypatch.delenv("LINE_CACHE_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert model_cache.models_dir() == tmp_path / ".cache" / "line" / "models"


def test_registered_names():
    names = PROPOSERS.describe_names()
    for name in ["lexicon", "hf:NAME", "smollm2", "smollm2-raw", "gemma3-270m",
                 "gemma3-270m-raw", "openai:NAME"]:
        assert name in names
    with pytest.raises(ConfigError, match="needs an argument"):
        PROPOSERS.create("hf")
    with pytest.raises(ConfigError, match="GGUF file not found"):
        PROPOSERS.create("hf:/nowhere/model.gguf")


# -- real models (slow) --------------------------------------------------------------------
@pytest.mark.slow
def test_uncached_hub_model_offline_names_the_download(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    with pytest.raises(MissingWeightsError) as info:
        PROPOSERS.create("hf:someone/not-a-cached-model")
    message = str(info.value)
    assert "hf download someone/not-a-cached-model" in message
    assert "\n" not in message


@pytest.fixture(scope="session")
def procedural():
    from line_core.generators import GENERATORS

    return GENERATORS.create("procedural")


@pytest.fixture(scope="session")
def smollm2(procedural):
    """The SmolLM2 preset, converted into $LINE_CACHE_DIR (default ~/.cache/line) once."""
    return PROPOSERS.create("smollm2", generator=procedural, seed=42)


@pytest.mark.slow
def test_smollm2_preset_proposes_new_concepts(smollm2):
    assert isinstance(smollm2, FallbackProposer)
    assert model_cache.is_cached("smollm2-135m-instruct", _marker_source("smollm2-135m-instruct"))
    request = _request()
    for i in range(3):
        request.iteration, request.seed = i, 100 + i
        proposal = smollm2.propose(request)
        assert 1 <= len(proposal.concept.split()) <= 4
        assert normalise(proposal.concept) not in request.forbidden
        assert proposal.source in {"llm", "lexicon"}
        if proposal.source == "llm":
            assert proposal.raw.startswith("[1] ")
        request.forbidden.add(normalise(proposal.concept))


@pytest.mark.slow
def test_smollm2_sampling_is_seeded(smollm2):
    backend = smollm2.llm.backend
    from line_core.proposers.llm import Sampling

    sampling = Sampling(0.5, 0.9, 6, None, ("\n",))
    a = backend.complete("Colours: red, green,", n=3, seed=5, sampling=sampling)
    b = backend.complete("Colours: red, green,", n=3, seed=5, sampling=sampling)
    assert a == b and len(a) == 3


@pytest.mark.slow
def test_raw_and_fallback_false_share_the_loaded_model(smollm2, procedural):
    raw = PROPOSERS.create("smollm2-raw", generator=procedural, seed=1)
    off = PROPOSERS.create("smollm2", generator=procedural, fallback=False)
    assert isinstance(raw, LLMProposer) and isinstance(off, LLMProposer)
    assert (smollm2.name, raw.name, off.name) == ("smollm2", "smollm2-raw", "smollm2-raw")
    assert raw.backend.model is smollm2.llm.backend.model


@pytest.mark.slow
def test_junk_generation_never_crashes(smollm2, monkeypatch):
    import torch

    backend = smollm2.llm.backend
    vocab = len(backend.tokenizer)

    def junk_generate(input_ids, **kwargs):
        noise = torch.randint(0, vocab, (input_ids.shape[0], 8), generator=torch.Generator()
                              .manual_seed(0))
        return torch.cat([input_ids, noise], dim=1)

    monkeypatch.setattr(backend.model, "generate", junk_generate)
    raw_proposer = LLMProposer(backend, smollm2.llm.settings)
    proposal = raw_proposer.propose(_request())
    assert isinstance(proposal.concept, str) and proposal.source == "llm"
    assert proposal.raw.count("\n[") >= 5  # every sample is logged
    fallback = smollm2.propose(_request())
    assert normalise(fallback.concept) not in _request().forbidden
    assert fallback.source in {"llm", "lexicon"}


@pytest.mark.slow
def test_hf_family_loads_a_local_folder_in_chat_style(smollm2):
    folder = model_cache.models_dir() / "smollm2-135m-instruct"
    proposer = PROPOSERS.create(f"hf:{folder}", n_candidates=2, max_new_tokens=40)
    assert isinstance(proposer, LLMProposer)
    assert proposer.settings.style == "chat"  # SmolLM2-Instruct has a chat template
    proposal = proposer.propose(_request())
    assert isinstance(proposal.concept, str)
    assert proposal.raw  # whatever the small model said is logged


@pytest.mark.slow
def test_gemma3_270m_refines_the_pool_best(procedural):
    proposer = PROPOSERS.create("gemma3-270m-raw", generator=procedural, seed=42)
    assert model_cache.is_cached("gemma3-270m", _marker_source("gemma3-270m"))
    request = _request()
    concepts = []
    for i in range(3):
        request.iteration, request.seed = i, 200 + i
        proposal = proposer.propose(request)
        concepts.append(proposal.concept)
        request.forbidden.add(normalise(proposal.concept))
    assert sum("yellow" in c.split() for c in concepts) >= 2, concepts


def _marker_source(name):
    import json

    marker = model_cache.models_dir() / name / model_cache.MARKER
    return json.loads(marker.read_text())["source"]
