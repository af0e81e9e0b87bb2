"""The diffusers generator on a tiny random-weight pipeline built in code; never downloads."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from line_core import hub
from line_core.errors import BackendError, ConfigError, MissingWeightsError
from line_core.generators import GENERATORS, ImageGenerator
from line_core.generators.diffusion import (
    PRESETS,
    DiffusionConfig,
    DiffusionGenerator,
    loading,
    preset,
    resolve_device,
    resolve_dtype,
)
from line_core.generators.diffusion.config import FRAMINGS, LIGHTINGS
from line_core.generators.diffusion.safety import FLAG_KEY, is_blank, retry_seed

try:
    from tiny_diffusion import save_tiny_pipeline
except ImportError:  # tests/ imported as a package
    from tests.tiny_diffusion import save_tiny_pipeline

#: Small and quick: 2 DDIM steps without classifier-free guidance on 32x32 images.
FAST = {"steps": 2, "size": 32, "batch_size": 2, "guidance": 0.0}


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path_factory):
    """No test may reach the hub: offline, with an empty hub cache."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants as hub_constants

    cache = tmp_path_factory.mktemp("empty_hub_cache")
    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(cache))


@pytest.fixture(scope="session")
def tiny_folder(tmp_path_factory) -> Path:
    return save_tiny_pipeline(tmp_path_factory.mktemp("tiny_sd") / "pipeline")


@pytest.fixture
def index_only_folder(tmp_path) -> Path:
    """A folder that looks like a pipeline to the cheap checks (no weights)."""
    (tmp_path / "model_index.json").write_text('{"_class_name": "StableDiffusionPipeline"}')
    return tmp_path


@pytest.fixture
def unloaded() -> DiffusionGenerator:
    """A generator whose pipeline is never loaded (prompts and capabilities only)."""
    return DiffusionGenerator(DiffusionConfig(model="unused/model", **FAST))


@pytest.fixture(scope="session")
def shared_pipeline(tiny_folder):
    """One loaded pipeline for the whole session (loading is the slow part)."""
    generator = GENERATORS.create(f"diffusers:{tiny_folder}", **FAST)
    return generator.load()


@pytest.fixture
def tiny(tiny_folder, shared_pipeline) -> DiffusionGenerator:
    generator = GENERATORS.create(f"diffusers:{tiny_folder}", **FAST)
    generator.pipeline = shared_pipeline
    return generator


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.int16)


# --- registry and presets -------------------------------------------------------------------


def test_presets_and_family_are_registered():
    names = GENERATORS.names()
    for name in ("sd-turbo", "sdxl-turbo", "sdxl-base", "flux-schnell", "diffusers"):
        assert name in names
    assert "diffusers:NAME" in GENERATORS.describe_names()


@pytest.mark.parametrize(
    ("name", "model", "steps", "guidance", "size"),
    [
        ("sd-turbo", "stabilityai/sd-turbo", 1, 0.0, 512),
        ("sdxl-turbo", "stabilityai/sdxl-turbo", 1, 0.0, 512),
        ("sdxl-base", "stabilityai/stable-diffusion-xl-base-1.0", 25, 5.0, 1024),
        ("flux-schnell", "black-forest-labs/FLUX.1-schnell", 4, 0.0, 1024),
    ],
)
def test_presets_resolve_to_their_config(name, model, steps, guidance, size):
    generator = GENERATORS.create(name, check=False, unknown_option="ignored")
    assert isinstance(generator, ImageGenerator)
    assert (generator.name, generator.kind) == (name, "diffusion")
    config = generator.config
    assert (config.model, config.steps, config.guidance, config.size) == (
        model,
        steps,
        guidance,
        size,
    )
    assert config == preset(name)
    assert config.prompt_template == "A realistic photo of a {concept}"
    assert "{concept}" not in generator.describe() and config.label in generator.describe()


def test_options_override_a_preset_and_none_keeps_it():
    generator = GENERATORS.create("sdxl-turbo", check=False, steps=4, batch_size=8, size=None)
    assert (generator.config.steps, generator.config.batch_size) == (4, 8)
    assert generator.config.size == 512
    assert dataclasses.replace(PRESETS["sdxl-turbo"], steps=4, batch_size=8) == generator.config
    custom = GENERATORS.create("sd-turbo", check=False, framings=["macro shot"], vary_prompt=True)
    assert custom.config.framings == ("macro shot",)


def test_family_defaults_are_the_reference_settings(index_only_folder):
    generator = GENERATORS.create(f"diffusers:{index_only_folder}")
    assert generator.name == f"diffusers:{index_only_folder}"
    assert (generator.config.steps, generator.config.guidance) == (25, 5.0)
    assert generator.config.size is None


def test_bad_config_is_one_clear_line():
    with pytest.raises(ConfigError, match="size must be a multiple of 8") as info:
        DiffusionConfig(model="x/y", size=100, steps=0)
    assert "steps" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(ConfigError, match="concept"):
        GENERATORS.create("sd-turbo", check=False, prompt_template="a photo")
    with pytest.raises(ConfigError, match="no other"):
        GENERATORS.create("sd-turbo", check=False, prompt_template="{concept} in {style}")
    flux = GENERATORS.create("flux-schnell", check=False, pipeline_options={"a": 1})
    assert flux.config.pipeline_options == (("a", 1),)
    assert dict(PRESETS["flux-schnell"].pipeline_options) == {"max_sequence_length": 256}


# --- missing weights, offline ------------------------------------------------------------------


@pytest.mark.parametrize("name", list(PRESETS))
def test_preset_offline_raises_one_line_missing_weights(name):
    with pytest.raises(MissingWeightsError) as info:
        GENERATORS.create(name)
    message = str(info.value)
    assert "\n" not in message
    assert PRESETS[name].model in message and "hf download" in message
    assert "diffusers:PATH" in message


def test_loading_a_missing_model_is_missing_weights_not_a_traceback():
    generator = GENERATORS.create("sd-turbo", check=False)
    with pytest.raises(MissingWeightsError, match="stabilityai/sd-turbo"):
        generator.generate("cat", [0])


def test_unknown_hub_id_offline_is_missing_weights():
    with pytest.raises(MissingWeightsError, match="someone/some-model"):
        GENERATORS.create("diffusers:someone/some-model")


@pytest.mark.slow
def test_a_hub_id_in_the_local_cache_loads_offline(tiny_folder, tmp_path):
    """The layout `hf download` leaves: models--ORG--NAME/{refs/main,snapshots/HASH}."""
    commit = "0" * 40
    repo = tmp_path / "cache" / "models--line-test--tiny-sd"
    shutil.copytree(tiny_folder, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    generator = GENERATORS.create(
        "diffusers:line-test/tiny-sd", cache_dir=str(tmp_path / "cache"), variant="fp16", **FAST
    )
    images = generator.generate("red apple", [0])  # no fp16 files: falls back to the plain ones
    assert images[0].size == (32, 32)


def test_unreachable_hub_counts_as_offline(monkeypatch):
    for name in hub.OFFLINE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(hub, "hub_reachable", lambda: False)
    assert hub.is_offline()
    with pytest.raises(MissingWeightsError, match="sdxl-base|stable-diffusion-xl"):
        GENERATORS.create("sdxl-base")


def test_missing_or_wrong_local_folder_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="not a folder"):
        GENERATORS.create(f"diffusers:{tmp_path / 'nowhere'}")
    with pytest.raises(ConfigError, match="model_index.json"):
        GENERATORS.create(f"diffusers:{tmp_path}")
    (tmp_path / "model_index.json").write_text("{not json")
    with pytest.raises(ConfigError, match="cannot read model_index.json"):
        GENERATORS.create(f"diffusers:{tmp_path}")


def test_a_network_failure_while_online_falls_back_to_the_cache(monkeypatch):
    import httpx

    for name in hub.OFFLINE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(hub, "hub_reachable", lambda: True)
    monkeypatch.setattr(loading, "_download_model_index", lambda config: None)
    calls = []

    class Loaded:
        def set_progress_bar_config(self, **_):
            pass

        def to(self, device):
            calls.append(("to", device.type))

    def fake_from_pretrained(config, dtype, local_files_only):
        calls.append(local_files_only)
        if not local_files_only:
            raise OSError("download failed") from httpx.ConnectError("no route to host")
        return Loaded()

    monkeypatch.setattr(loading, "_from_pretrained", fake_from_pretrained)
    config = PRESETS["sd-turbo"].replace(device="cpu")
    assert isinstance(loading.load_pipeline(config), Loaded)
    assert calls == [False, True, ("to", "cpu")]


def test_hub_errors_translate_to_one_line():
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    def bare(cls, text):  # hub errors want an HTTP response; isinstance is all that matters
        error = cls.__new__(cls)
        error.args = (text,)
        return error

    config = PRESETS["flux-schnell"]
    gated = loading.translate_error(bare(GatedRepoError, "restricted"), config)
    assert isinstance(gated, MissingWeightsError) and "hf auth login" in str(gated)
    unknown = loading.translate_error(bare(RepositoryNotFoundError, "404"), config)
    assert isinstance(unknown, ConfigError) and "no model" in str(unknown)


def test_load_errors_translate_to_one_line():
    config = PRESETS["sd-turbo"]
    missing = OSError("stabilityai/sd-turbo does not appear to have a file named model_index.json")
    assert isinstance(loading.translate_error(missing, config), MissingWeightsError)
    other = loading.translate_error(RuntimeError("shape mismatch\nin unet"), config)
    assert isinstance(other, BackendError) and "\n" not in str(other)


# --- dtype and device ------------------------------------------------------------------------


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU fallback")
def test_auto_device_and_dtype_on_cpu_are_float32():
    device = resolve_device("auto")
    assert device.type == "cpu"
    for config in PRESETS.values():
        assert resolve_dtype(config, device) == torch.float32
    with pytest.raises(ConfigError, match="CUDA is not available"):
        resolve_device("cuda")


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU fallback")
def test_the_loaded_pipeline_is_float32_on_the_cpu(tiny):
    assert tiny.pipeline.unet.dtype == torch.float32
    assert tiny.pipeline.unet.device.type == "cpu"
    assert tiny.pipeline.text_encoder.dtype == torch.float32


def test_auto_dtype_on_gpu_is_half_and_bfloat16_for_flux(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    cuda = torch.device("cuda")
    assert resolve_dtype(PRESETS["sd-turbo"], cuda) == torch.float16
    assert resolve_dtype(PRESETS["sdxl-base"], cuda) == torch.float16
    assert resolve_dtype(PRESETS["flux-schnell"], cuda) == torch.bfloat16
    generic = DiffusionConfig(model="any/flux-like")
    assert resolve_dtype(generic, cuda, {"transformer": ["diffusers", "X"]}) == torch.bfloat16
    assert resolve_dtype(generic, cuda, {"unet": ["diffusers", "X"]}) == torch.float16
    assert resolve_dtype(generic.replace(dtype="float32"), cuda) == torch.float32
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    assert resolve_dtype(PRESETS["flux-schnell"], cuda) == torch.float16


# --- prompts ----------------------------------------------------------------------------------


def test_prompt_for_is_reproducible_and_varies_by_seed(unloaded):
    tiny = unloaded
    again = DiffusionGenerator(tiny.config)
    prompts = [tiny.prompt_for("red apple", seed) for seed in range(20)]
    assert prompts == [again.prompt_for("red apple", seed) for seed in range(20)]
    assert all(p.startswith("A realistic photo of a red apple, ") for p in prompts)
    assert len(set(prompts)) > 3
    for prompt in prompts:
        framing, lighting = prompt.split(", ")[1:]
        assert framing in FRAMINGS and lighting in LIGHTINGS
    plain = DiffusionGenerator(tiny.config.replace(vary_prompt=False))
    assert plain.prompt_for("red  apple ", 3) == "A realistic photo of a red apple"


def test_concept_lists_and_capabilities(unloaded):
    tiny = unloaded
    assert tiny.unrendered_words("striped red cat") == [] and tiny.vocabulary() == []
    seeds, controls = tiny.seed_concepts(), tiny.control_prompts()
    assert 25 <= len(seeds) <= 40 and len(set(seeds)) == len(seeds)
    assert 50 <= len(controls) <= 70 and len(set(controls)) == len(controls)
    assert tiny.describe().startswith("a text-to-image diffusion model (")


# --- generation on the tiny pipeline -------------------------------------------------------------


@pytest.mark.slow
def test_generate_returns_rgb_images_of_the_right_count_and_size(tiny):
    images = tiny.generate("red apple", [0, 1, 2])
    assert len(images) == 3
    assert all(image.mode == "RGB" and image.size == (32, 32) for image in images)
    assert tiny.last_flagged == [] and tiny.last_retried == {}


@pytest.mark.slow
def test_native_size_with_guidance_and_a_negative_prompt(tiny):
    tiny.config = tiny.config.replace(
        size=None,
        guidance=5.0,
        negative_prompt="blurry",
        pipeline_options=(("eta", 0.0), ("max_sequence_length", 256)),  # FLUX-only: dropped
    )
    images = tiny.generate("red apple", [0, 1])
    assert [image.size for image in images] == [(64, 64), (64, 64)]
    assert not any(is_blank(image) for image in images)


@pytest.mark.slow
def test_each_image_depends_only_on_its_seed(tiny):
    batch = tiny.generate("blue car", [7, 8, 9])
    again = tiny.generate("blue car", [7, 8, 9])
    alone = tiny.generate("blue car", [8])
    assert all((pixels(a) == pixels(b)).all() for a, b in zip(batch, again, strict=True))
    assert (pixels(alone[0]) == pixels(batch[1])).all()
    assert not (pixels(batch[0]) == pixels(batch[1])).all()


@pytest.mark.slow
def test_different_prompts_give_different_images(tiny):
    plain = tiny.config.replace(vary_prompt=False)
    generator = DiffusionGenerator(plain, pipeline=tiny.pipeline)
    first = pixels(generator.generate("red apple", [3])[0])
    second = pixels(generator.generate("zebra crossing at night", [3])[0])
    assert (first != second).any() and np.abs(first - second).mean() > 0.1


class BlackingPipeline:
    """Wraps the real pipeline; blacks out chosen images of the first `calls` calls."""

    def __init__(self, pipeline, indices, calls, nsfw=False):
        self.pipeline, self.indices, self.calls, self.nsfw = pipeline, indices, calls, nsfw
        self.seen = 0

    def __call__(self, **options):
        output = self.pipeline(**options)
        self.seen += 1
        if self.seen <= self.calls:
            for i in self.indices:
                if self.nsfw:
                    output.nsfw_content_detected = [j in self.indices for j in range(3)]
                else:
                    output.images[i] = Image.new("RGB", output.images[i].size)
        return output


@pytest.mark.slow
def test_a_blacked_out_image_is_rendered_again_from_a_derived_seed(tiny):
    seeds = [4, 5, 6]
    clean = tiny.generate("red apple", seeds)
    tiny.pipeline = BlackingPipeline(tiny.pipeline, indices=[1], calls=1)
    images = tiny.generate("red apple", seeds)
    assert tiny.last_retried == {1: retry_seed(5)} and tiny.last_flagged == []
    assert not is_blank(images[1]) and FLAG_KEY not in images[1].info
    assert (pixels(images[0]) == pixels(clean[0])).all()
    assert not (pixels(images[1]) == pixels(clean[1])).all()
    expected = tiny._render([tiny.prompt_for("red apple", 5)], [retry_seed(5)])[0][0]
    assert (pixels(images[1]) == pixels(expected)).all()


@pytest.mark.slow
def test_an_image_still_black_after_the_retry_is_flagged(tiny):
    tiny.config = tiny.config.replace(batch_size=3)
    tiny.pipeline = BlackingPipeline(tiny.pipeline, indices=[0], calls=99)
    images = tiny.generate("red apple", [4, 5, 6])
    assert len(images) == 3
    assert tiny.last_flagged == [0] and list(tiny.last_retried) == [0]
    assert images[0].info.get(FLAG_KEY) is True
    assert not any(FLAG_KEY in image.info for image in images[1:])


@pytest.mark.slow
def test_nsfw_flags_of_the_pipeline_trigger_the_retry(tiny):
    tiny.config = tiny.config.replace(batch_size=3)
    tiny.pipeline = BlackingPipeline(tiny.pipeline, indices=[2], calls=1, nsfw=True)
    tiny.generate("red apple", [4, 5, 6])
    assert list(tiny.last_retried) == [2] and tiny.last_flagged == []


def test_blank_detection():
    assert is_blank(Image.new("RGB", (32, 32)))
    assert is_blank(Image.new("RGB", (32, 32), (120, 200, 30)))
    noise = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    assert not is_blank(Image.fromarray(noise))


def test_offline_messages_name_hf_download_not_huggingface_cli():
    """huggingface_hub 1.0 dropped `huggingface-cli`: every hint says `hf download`."""
    for spec, model in [
        ("sd-turbo", "stabilityai/sd-turbo"),
        ("sdxl-base", "stabilityai/stable-diffusion-xl-base-1.0"),
        ("diffusers:someone/some-model", "someone/some-model"),
    ]:
        with pytest.raises(MissingWeightsError) as info:
            GENERATORS.create(spec)
        message = str(info.value)
        assert f"hf download {model}" in message, message
        assert "huggingface-cli" not in message and "\n" not in message
