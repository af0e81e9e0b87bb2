"""One contract per registry: every registered backend is built here and passes the same checks.

In the style of overcomplete's factory tests: each test is parametrised over EVERY name in
``TARGETS``, ``GENERATORS`` and ``PROPOSERS``. The tables below say how each name is built on this
machine (no internet, no downloaded weights): the real offline backends as they are, model
families on tiny models made in code and saved to a temporary folder, the diffusion presets on a
tiny random pipeline placed in a private Hugging Face cache under the preset's own model id, and
``openai:`` against a real HTTP server on 127.0.0.1.

A registered name missing from its table fails (new backends must get a case); a table entry for a
name no longer registered fails too. A case that cannot run here says why and is skipped with that
reason. A real backend that breaks a check stays checked: its case is marked
``xfail(strict=True)`` with the finding, so the day it is fixed the mark must go.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from line_core.concepts import ScoredConcept, normalise
from line_core.generators import GENERATORS, ImageGenerator
from line_core.generators.diffusion import PRESETS
from line_core.layers import check_unit, list_layers
from line_core.probe import layer_activations
from line_core.proposers import PROPOSERS, Proposal, ProposalRequest
from line_core.proposers.parsing import MAX_WORDS
from line_core.targets import TARGETS, Target

try:
    from fake_openai_server import FakeOpenAIServer, ok
    from helpers_models import save_tiny_vit
    from tiny_diffusion import byte_alphabet, save_tiny_pipeline
except ImportError:  # tests/ imported as a package
    from tests.fake_openai_server import FakeOpenAIServer, ok
    from tests.helpers_models import save_tiny_vit
    from tests.tiny_diffusion import byte_alphabet, save_tiny_pipeline

Build = Callable[["Workshop"], tuple[str, dict[str, Any]]]


@dataclass(frozen=True)
class Case:
    """How to build one registered backend here: ``build(workshop) -> (spec, options)``.

    ``label`` tells several cases of one name apart; ``slow`` marks cases over ~3 s (model loads);
    ``skip`` is why the backend cannot run on this machine; ``xfail`` maps a check to a finding.
    """

    build: Build
    label: str = ""
    slow: bool = False
    skip: str | None = None
    xfail: Mapping[str, str] = field(default_factory=dict)


# -- fixtures made in code ----------------------------------------------------------------------
class Workshop:
    """Builds (once per session) the tiny files and servers the cases need, and the backends."""

    def __init__(self, factory: pytest.TempPathFactory) -> None:
        self.factory = factory
        self.built: dict[tuple[str, str, str], Any] = {}
        self._exits = contextlib.ExitStack()
        self._servers: dict[str, str] = {}

    def close(self) -> None:
        self._exits.close()

    def backend(self, registry: Any, name: str, case: Case) -> Any:
        """The backend a case builds, built once per session (the first error is re-raised)."""
        key = (registry.kind, name, case.label)
        if key not in self.built:
            spec, options = case.build(self)
            try:
                self.built[key] = registry.create(spec, **options)
            except Exception as exc:  # kept, so every check of this case reports the same error
                self.built[key] = exc
        value = self.built[key]
        if isinstance(value, Exception):
            raise value
        return value

    # targets
    @functools.cached_property
    def hf_classifier_folder(self) -> Path:
        """A 2-layer ViT image classifier (32x32 inputs, 3 labelled classes) and its processor."""
        return save_tiny_vit(self.factory.mktemp("hf_vit"), ("red", "green", "blue"),
                             hidden_size=32)

    @functools.cached_property
    def places365_file(self) -> Path:
        """A random ResNet-50/365 in the CSAIL format: ``{"state_dict": {"module.*": ...}}``."""
        import torchvision.models as models

        torch.manual_seed(0)
        model = models.resnet50(weights=None, num_classes=365)
        state = {f"module.{k}": v for k, v in model.state_dict().items()}
        folder = self.factory.mktemp("places365")
        path = folder / "resnet50_places365.pth.tar"
        torch.save({"epoch": 90, "arch": "resnet50", "state_dict": state}, path)
        names = [f"/{chr(97 + i % 26)}/scene_{i} {i}" for i in range(365)]
        (folder / "categories_places365.txt").write_text("\n".join(names) + "\n")
        return path

    @functools.cached_property
    def checkpoint_file(self) -> Path:
        """A random MobileNetV3-Small with 10 classes as .safetensors (class count inferred)."""
        import torchvision.models as models
        from safetensors.torch import save_file

        torch.manual_seed(0)
        model = models.mobilenet_v3_small(weights=None, num_classes=10)
        path = self.factory.mktemp("checkpoint") / "mobilenet10.safetensors"
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
        return path

    # generators
    @functools.cached_property
    def diffusion_folder(self) -> Path:
        """A tiny random StableDiffusionPipeline saved with ``save_pretrained``."""
        return save_tiny_pipeline(self.factory.mktemp("tiny_sd") / "pipeline")

    def hub_cache_for(self, model_id: str) -> Path:
        """A private hub cache holding the tiny pipeline under ``model_id`` (`hf download`'s
        layout: ``models--ORG--NAME/{refs/main, snapshots/HASH}``)."""
        cache = self.factory.getbasetemp() / "hub_cache"
        repo = cache / ("models--" + model_id.replace("/", "--"))
        if not repo.exists():
            commit = "0" * 40
            (repo / "snapshots").mkdir(parents=True)
            snapshot = repo / "snapshots" / commit
            snapshot.symlink_to(self.diffusion_folder, target_is_directory=True)
            (repo / "refs").mkdir()
            (repo / "refs" / "main").write_text(commit)
        return cache

    @functools.cached_property
    def procedural(self) -> ImageGenerator:
        """The real offline renderer (proposers are built for it)."""
        return GENERATORS.create("procedural")

    # proposers
    @functools.cached_property
    def hf_causal_lm_folder(self) -> Path:
        """A 1-layer GPT-2 with random weights and a byte-level tokenizer (one token per byte)."""
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers
        from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

        end = "<|endoftext|>"
        vocab = {token: i for i, token in enumerate([*byte_alphabet(), end])}
        core = Tokenizer(models.BPE(vocab=vocab, merges=[]))
        core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        core.decoder = decoders.ByteLevel()
        tokenizer = PreTrainedTokenizerFast(
            tokenizer_object=core, bos_token=end, eos_token=end, unk_token=end
        )
        torch.manual_seed(0)
        config = GPT2Config(
            vocab_size=len(vocab),
            n_positions=2048,
            n_embd=16,
            n_layer=1,
            n_head=2,
            bos_token_id=vocab[end],
            eos_token_id=vocab[end],
        )
        folder = self.factory.mktemp("tiny_gpt2")
        GPT2LMHeadModel(config).save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        return folder

    def openai_url(self, answer: str) -> str:
        """A real chat-completions server on 127.0.0.1 that always answers ``answer`` (JSON)."""
        if answer not in self._servers:
            server = self._exits.enter_context(FakeOpenAIServer([ok(answer, "contract")]))
            self._servers[answer] = server.url
        return self._servers[answer]


@pytest.fixture(scope="session")
def workshop(tmp_path_factory: pytest.TempPathFactory):
    made = Workshop(tmp_path_factory)
    yield made
    made.close()


# -- the tables: every registered name -> how to build it here -----------------------------------
def _fixed(spec: str, **options: Any) -> Build:
    return lambda _workshop: (spec, dict(options))


TARGET_CASES: dict[str, tuple[Case, ...]] = {
    "efficientnet_lite0": (Case(_fixed("efficientnet_lite0")),),
    "planted": (Case(_fixed("planted")),),
    "planted-family": (Case(_fixed("planted-family:101")),),
    "torchvision": (Case(_fixed("torchvision:mobilenet_v3_small", weights=None)),),
    "timm": (Case(_fixed("timm:test_vit", pretrained=False)),),
    "hf": (Case(lambda w: (f"hf:{w.hf_classifier_folder}", {})),),
    # ResNet-50 built, saved (95 MB) and loaded again: ~5 s
    "places365": (Case(lambda w: (f"places365:{w.places365_file}", {}), slow=True),),
    "checkpoint": (Case(lambda w: (f"checkpoint:mobilenet_v3_small@{w.checkpoint_file}", {})),),
}

#: Small renders for the diffusion cases: the preset's steps and guidance, 32x32 images.
_SMALL = {"size": 32, "batch_size": 2}


def _preset(name: str, **options: Any) -> Build:
    """The preset by its registered name, its own model id served from the private hub cache."""
    model_id = PRESETS[name].model
    return lambda w: (name, {"cache_dir": str(w.hub_cache_for(model_id)), **_SMALL, **options})


GENERATOR_CASES: dict[str, tuple[Case, ...]] = {
    "procedural": (Case(_fixed("procedural")),),
    "diffusers": (Case(lambda w: (f"diffusers:{w.diffusion_folder}", {"steps": 2, **_SMALL})),),
    # The presets' own model ids, steps, guidance, fp16 variant and pipeline options, served
    # from a private hub cache that holds the tiny pipeline (no weights of these models here).
    "sd-turbo": (Case(_preset("sd-turbo")),),
    "sdxl-turbo": (Case(_preset("sdxl-turbo")),),
    # its 25 guided steps cut to 2 (still guided: the classifier-free guidance path runs)
    "sdxl-base": (Case(_preset("sdxl-base", steps=2)),),
    "flux-schnell": (Case(_preset("flux-schnell")),),
}


def _with_procedural(spec: Callable[[Workshop], str], **options: Any) -> Build:
    return lambda w: (spec(w), {"generator": w.procedural, "seed": 42, **options})


#: Every proposer checks novelty with the real MiniLM embedder (~8 s to load in a fresh process),
#: so every case is slow; the LLM presets also convert their GGUF once (20-60 s, then cached).
PROPOSER_CASES: dict[str, tuple[Case, ...]] = {
    "lexicon": (Case(_with_procedural(lambda _w: "lexicon"), slow=True),),
    # A random-weight model proposes junk, so the family is checked with its lexicon fallback on:
    # it loads a local folder, samples, survives the junk and still proposes a valid concept.
    # (The real SmolLM2 as `hf:FOLDER` in its default chat style took 4-5 min per proposal
    # here; the presets below run the same backend on real weights.)
    "hf": (
        Case(
            _with_procedural(lambda w: f"hf:{w.hf_causal_lm_folder}", fallback=True),
            label="tiny-gpt2+fallback",
            slow=True,
        ),
    ),
    "smollm2": (Case(_with_procedural(lambda _w: "smollm2"), slow=True),),
    "smollm2-raw": (Case(_with_procedural(lambda _w: "smollm2-raw"), slow=True),),
    "gemma3-270m": (Case(_with_procedural(lambda _w: "gemma3-270m"), slow=True),),
    "gemma3-270m-raw": (Case(_with_procedural(lambda _w: "gemma3-270m-raw"), slow=True),),
    "openai": (
        Case(
            _with_procedural(lambda w: f"openai:{w.openai_url('purple spirals')}/contract-model"),
            label="new-concept",
            slow=True,
        ),
        # The same backend when the model only repeats a tried concept (a real failure mode of
        # small models): the proposer returns an honest repeat that lists its rejections.
        Case(
            _with_procedural(lambda w: f"openai:{w.openai_url('Yellow Stripes')}/contract-model"),
            label="server-repeats",
            slow=True,
        ),
    ),
}

TABLES = {
    "targets": (TARGETS, TARGET_CASES),
    "generators": (GENERATORS, GENERATOR_CASES),
    "proposers": (PROPOSERS, PROPOSER_CASES),
}


def cases(registry: Any, table: dict[str, tuple[Case, ...]], check: str) -> list[Any]:
    """One parameter per case of every registered name (an uncovered name gets a failing one)."""
    params = []
    for name in registry.names():
        if not table.get(name):
            params.append(pytest.param(name, None, id=f"{name}-NO-CASE"))
            continue
        for case in table[name]:
            marks = [pytest.mark.slow] if case.slow else []
            if check in case.xfail:
                marks.append(
                    pytest.mark.xfail(strict=True, raises=AssertionError, reason=case.xfail[check])
                )
            label = f"{name}[{case.label}]" if case.label else name
            params.append(pytest.param(name, case, id=label, marks=marks))
    return params


def runnable(kind: str, name: str, case: Case | None) -> Case:
    """The case, or fail for an uncovered name, or skip (with its reason) where it cannot run."""
    if case is None:
        pytest.fail(
            f"{kind} '{name}' is registered but has no case in this file's table: add one "
            "(a spec and the fixture it needs), or a Case(skip=...) saying why it cannot run here"
        )
    if case.skip:
        pytest.skip(case.skip)
    return case


@pytest.mark.parametrize("table", list(TABLES))
def test_tables_name_only_registered_backends(table):
    registry, cases_by_name = TABLES[table]
    stale = sorted(set(cases_by_name) - set(registry.names()))
    assert not stale, f"{table} table has cases for names no longer registered: {stale}"


# -- targets ------------------------------------------------------------------------------------
def two_images() -> list[Image.Image]:
    """Two small, different RGB images: a colour gradient and a black/white checkerboard."""
    ramp = np.linspace(0, 255, 48, dtype=np.uint8)
    gradient = np.stack(
        [np.tile(ramp, (48, 1)), np.tile(ramp[:, None], (1, 48)), np.full((48, 48), 96, np.uint8)],
        axis=-1,
    )
    cells = (np.indices((48, 48)) // 6).sum(axis=0) % 2
    checker = np.repeat((cells * 255).astype(np.uint8)[..., None], 3, axis=-1)
    return [Image.fromarray(gradient), Image.fromarray(checker)]


def read_layer(target: Target) -> str:
    """The layer the probe reads: the target's default, else its last readable layer."""
    return target.default_layer or list(list_layers(target))[-1]


@pytest.mark.parametrize(("name", "case"), cases(TARGETS, TARGET_CASES, "layers"))
def test_target_loads_and_lists_its_layers(workshop, name, case):
    case = runnable("model", name, case)
    target = workshop.backend(TARGETS, name, case)
    assert isinstance(target, Target)
    assert isinstance(target.name, str) and target.name
    assert isinstance(target.model, torch.nn.Module) and callable(target.preprocess)
    layers = list_layers(target)
    assert layers, f"{name}: no readable layers"
    assert all(isinstance(units, int) and units > 0 for units in layers.values()), layers
    if target.default_layer is not None:
        assert target.default_layer in layers, f"default layer {target.default_layer!r} unlisted"
        neuron = 0 if target.default_neuron is None else target.default_neuron
        assert check_unit(target, target.default_layer, neuron) == layers[target.default_layer]
    else:
        assert target.default_neuron is None, "a default neuron without a default layer"


@pytest.mark.parametrize(("name", "case"), cases(TARGETS, TARGET_CASES, "activations"))
def test_target_activations_are_finite_and_repeatable(workshop, name, case):
    case = runnable("model", name, case)
    target = workshop.backend(TARGETS, name, case)
    layer = read_layer(target)
    units = list_layers(target)[layer]
    first = layer_activations(target, layer, two_images())
    again = layer_activations(target, layer, two_images())
    assert isinstance(first, np.ndarray) and first.shape == (2, units), (layer, first.shape)
    assert first.dtype == np.float32
    assert np.isfinite(first).all(), f"{name} {layer}: non-finite activations"
    np.testing.assert_array_equal(first, again, err_msg=f"{name} {layer}: not repeatable")


# -- generators ---------------------------------------------------------------------------------
CONCEPT = "red and white stripes"


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.int16)


@pytest.mark.parametrize(("name", "case"), cases(GENERATORS, GENERATOR_CASES, "images"))
def test_generator_renders_one_rgb_image_per_seed(workshop, name, case):
    case = runnable("generator", name, case)
    generator = workshop.backend(GENERATORS, name, case)
    assert isinstance(generator, ImageGenerator)
    assert isinstance(generator.kind, str) and generator.kind
    images = generator.generate(CONCEPT, [3, 7])
    assert len(images) == 2
    for image in images:
        assert isinstance(image, Image.Image) and image.mode == "RGB"
        assert min(image.size) > 0
    assert len({image.size for image in images}) == 1, "images of one call differ in size"


@pytest.mark.parametrize(("name", "case"), cases(GENERATORS, GENERATOR_CASES, "seeds"))
def test_generator_images_depend_only_on_their_seed(workshop, name, case):
    case = runnable("generator", name, case)
    generator = workshop.backend(GENERATORS, name, case)
    batch = generator.generate(CONCEPT, [3, 7])
    again = generator.generate(CONCEPT, [3, 7])
    for first, second in zip(batch, again, strict=True):
        np.testing.assert_array_equal(pixels(first), pixels(second), "same seed, other pixels")
    assert (pixels(batch[0]) != pixels(batch[1])).any(), "different seeds, same image"
    # Rendered alone or beside another seed: the same image. Diffusion on the CPU is exact only
    # up to float rounding (batched kernels sum in another order), seen here as an occasional
    # uint8 value off by one; anything more means the batch leaks into the image.
    alone = pixels(generator.generate(CONCEPT, [7])[0])
    difference = np.abs(alone - pixels(batch[1]))
    assert difference.max() <= 1 and (difference > 0).mean() <= 0.001, (
        f"seed 7 alone differs from seed 7 in a batch: max {difference.max()}, "
        f"{(difference > 0).mean():.2%} of values"
    )


@pytest.mark.parametrize(("name", "case"), cases(GENERATORS, GENERATOR_CASES, "texts"))
def test_generator_describes_itself(workshop, name, case):
    case = runnable("generator", name, case)
    generator = workshop.backend(GENERATORS, name, case)
    prompt = generator.prompt_for(CONCEPT, 3)
    assert isinstance(prompt, str) and prompt.strip()
    assert generator.prompt_for(CONCEPT, 3) == prompt
    description = generator.describe()
    assert isinstance(description, str) and description.strip()
    for listing in (generator.seed_concepts(), generator.control_prompts()):
        assert isinstance(listing, list) and listing
        assert all(isinstance(text, str) and text.strip() for text in listing)
    assert isinstance(generator.unrendered_words(CONCEPT), list)
    assert generator.draws(CONCEPT) is True  # a colour-and-pattern concept every backend draws
    assert isinstance(generator.vocabulary(), list)


# -- proposers ----------------------------------------------------------------------------------
POOL = [
    ScoredConcept.of("yellow checkerboard", 0.91, 2.4, "seed"),
    ScoredConcept.of("orange squares", 0.80, 1.6, "llm"),
    ScoredConcept.of("yellow stripes", 0.74, 1.1, "lexicon"),
    ScoredConcept.of("green dots", 0.52, 0.2, "seed"),
    ScoredConcept.of("blue waves", 0.33, -0.4, "seed"),
    ScoredConcept.of("white noise", 0.20, -0.9, "seed"),
]
#: Every pool concept plus a few tried earlier and dropped from the pool.
FORBIDDEN = {normalise(c.concept) for c in POOL} | {
    normalise(text) for text in ("Red Circles", "a black star", "purple grid")
}


def request(summary: bool = False) -> ProposalRequest:
    pool = POOL[:3] if summary else list(POOL)
    return ProposalRequest(
        pool=pool,
        forbidden=set(FORBIDDEN),
        iteration=4,
        seed=42,
        summary=summary,
        history=list(POOL),
    )


def assert_new_short_concept(proposal: Proposal, name: str) -> None:
    assert isinstance(proposal, Proposal), type(proposal)
    text = proposal.concept
    summary = f"{name} proposed {text!r} (source {proposal.source!r}; {proposal.reasoning!r})"
    assert isinstance(proposal.source, str) and proposal.source.strip(), f"no source: {summary}"
    assert isinstance(text, str), summary
    if not normalise(text) or normalise(text) in FORBIDDEN:
        # the protocol: nothing new found -> an honest attempt that lists its rejections
        assert proposal.rejected, f"a repeat without its rejections: {summary}"
        return
    assert 1 <= len(text.split()) <= MAX_WORDS, f"not a short phrase: {summary}"


@pytest.mark.parametrize(("name", "case"), cases(PROPOSERS, PROPOSER_CASES, "propose"))
def test_proposer_proposes_a_new_short_concept(workshop, name, case):
    case = runnable("proposer", name, case)
    proposer = workshop.backend(PROPOSERS, name, case)
    assert isinstance(proposer.name, str) and proposer.name
    assert_new_short_concept(proposer.propose(request()), name)


@pytest.mark.parametrize(("name", "case"), cases(PROPOSERS, PROPOSER_CASES, "summary"))
def test_proposer_answers_a_summary_request(workshop, name, case):
    case = runnable("proposer", name, case)
    proposer = workshop.backend(PROPOSERS, name, case)
    assert_new_short_concept(proposer.propose(request(summary=True)), name)
