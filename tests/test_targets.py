"""Targets: spec resolution, layer listing, unit checks, every family with random weights."""

from __future__ import annotations

import sys
import textwrap

import numpy as np
import pytest
import torch
from helpers_models import FixedConvNet, OddOutputsNet, TokenNet, make_target, save_tiny_vit
from PIL import Image

from line_core.errors import ConfigError, MissingWeightsError
from line_core.layers import check_unit, list_layers
from line_core.probe import layer_activations
from line_core.targets import (
    Target,
    describe_models,
    load_target,
    model_names,
)


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No network and empty caches: any download attempt must become MissingWeightsError."""
    monkeypatch.setenv("LINE_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path


# --- layer listing and unit checks ------------------------------------------------------------


def test_list_layers_counts_units_per_output_kind():
    conv = list_layers(make_target(FixedConvNet(), size=4))
    assert conv == {"conv": 3, "after": 3, "pool": 3, "flat": 3, "fc": 2}
    tokens = list_layers(make_target(TokenNet(), size=4))
    assert tokens == {"blocks.0": 3, "blocks.1": 3, "head": 2}


def test_list_layers_skips_non_tensor_reused_and_unit_less_outputs():
    layers = list_layers(make_target(OddOutputsNet(), size=8))
    assert layers == {"conv": 4, "fc": 2}  # pair: tuple, shared: called twice, squash: 1-D


def test_list_layers_is_cached_on_the_target():
    target = make_target(FixedConvNet(), size=4)
    first = list_layers(target)

    def broken(images):
        raise AssertionError("a second dry forward was run")

    target.preprocess = broken
    assert list_layers(target) == first
    assert target.extra["layer_units"] == first


def test_check_unit_accepts_valid_units_and_explains_bad_ones():
    target = make_target(FixedConvNet(), size=4, name="tiny")
    assert check_unit(target, "conv", 2) == 3
    assert check_unit(target, "fc", np.int64(1)) == 2
    with pytest.raises(ConfigError) as bad_layer:
        check_unit(target, "conv2", 0)
    message = str(bad_layer.value)
    assert "layer 'conv2'" in message and "conv" in message and "line layers tiny" in message
    assert "\n" not in message
    with pytest.raises(ConfigError, match=r"neuron 3 is out of range .* choose 0\.\.2"):
        check_unit(target, "conv", 3)
    for bad in (-1, 1.5, True, "0"):
        with pytest.raises(ConfigError, match="out of range"):
            check_unit(target, "conv", bad)


# --- spec resolution ----------------------------------------------------------------------


def test_model_listing_names_every_backend_with_a_description():
    described = describe_models()
    assert list(described)[:2] == ["efficientnet_lite0", "planted"]
    for spec in ("torchvision:NAME", "timm:NAME", "hf:ID_OR_PATH", "places365:PATH"):
        assert spec in described
    assert "checkpoint:ARCH@PATH" in described and "module:callable" in described
    assert all(text and "\n" not in text for text in described.values())
    assert model_names() == list(described)


def test_unknown_specs_raise_one_line_config_errors():
    with pytest.raises(ConfigError, match="unknown model 'resnet9000'.*efficientnet_lite0"):
        load_target("resnet9000")
    with pytest.raises(ConfigError, match="no model given"):
        load_target("  ")
    with pytest.raises(ConfigError, match="needs an argument"):
        load_target("timm")
    with pytest.raises(ConfigError, match="not available"):
        load_target("planted", device="cuda:99" if torch.cuda.is_available() else "cuda")
    with pytest.raises(ConfigError, match="unknown device"):
        load_target("planted", device="toaster")


def test_load_target_puts_the_model_in_eval_mode_on_the_device():
    target = load_target("planted")
    assert not target.model.training
    assert target.extra["device"] == "cpu"
    assert (target.default_layer, target.default_neuron) == ("units", 0)


# --- own models: module:callable and file.py:callable -------------------------------------

MODEL_FILE = textwrap.dedent(
    """
    import torch
    from torch import nn

    from line_core.targets.base import Target

    def plain():
        return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())

    def with_preprocess(size=16):
        def preprocess(images):
            return torch.zeros(len(images), 3, size, size)
        return plain(), preprocess

    def ready():
        return Target(name="mine", model=plain(), preprocess=with_preprocess()[1], input_size=16)

    def raising():
        raise RuntimeError("no GPU here")

    def wrong():
        return 42

    NOT_CALLABLE = 3
    """
)


@pytest.fixture
def user_model(tmp_path, monkeypatch):
    path = tmp_path / "my_models_for_line.py"
    path.write_text(MODEL_FILE)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield path
    sys.modules.pop("my_models_for_line", None)


def test_custom_module_and_file_specs_build_targets(user_model):
    by_module = load_target("my_models_for_line:plain")
    assert isinstance(by_module, Target) and by_module.name == "my_models_for_line:plain"
    assert list_layers(by_module)["0"] == 4
    by_file = load_target(f"{user_model}:with_preprocess", size=20)
    assert by_file.preprocess([Image.new("RGB", (5, 5))]).shape == (1, 3, 20, 20)
    ready = load_target(f"{user_model}:ready")
    assert ready.name == "mine" and ready.input_size == 16
    images = [Image.new("RGB", (32, 32), (200, 10, 10))] * 2
    assert layer_activations(by_module, "3", images).shape == (2, 4)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no_such_module_xyz:build", "cannot import module 'no_such_module_xyz'"),
        ("/no/such/file.py:build", "model file '/no/such/file.py' not found"),
        ("my_models_for_line:missing", "has no attribute 'missing'"),
        ("my_models_for_line:raising", "raised RuntimeError: no GPU here"),
        ("my_models_for_line:wrong", "returned int; expected an nn.Module"),
        ("my_models_for_line:NOT_CALLABLE", "is not callable"),
    ],
)
def test_bad_custom_specs_name_the_problem(user_model, spec, message):
    with pytest.raises(ConfigError, match=message) as error:
        load_target(spec)
    assert "\n" not in str(error.value)


def test_a_custom_file_that_fails_to_import_is_a_config_error(tmp_path):
    broken = tmp_path / "broken_model.py"
    broken.write_text("def build(:\n")
    with pytest.raises(ConfigError, match="importing .*broken_model.py' failed: SyntaxError"):
        load_target(f"{broken}:build")


# --- torchvision ----------------------------------------------------------------------------


def test_torchvision_family_with_random_weights():
    target = load_target("torchvision:resnet18", weights=None)
    layers = list_layers(target)
    assert layers["avgpool"] == 512 and layers["fc"] == 1000 and layers["layer4"] == 512
    assert target.default_layer == "avgpool"
    assert len(target.class_names) == 1000  # from the default weights' metadata
    images = [Image.new("RGB", (300, 200), (10, 200, 30))] * 3
    assert target.preprocess(images).shape == (3, 3, 224, 224)
    acts = layer_activations(target, "layer4", images)
    assert acts.shape == (3, 512) and acts.dtype == np.float32


def test_torchvision_offline_without_cached_weights_names_the_download(offline):
    with pytest.raises(MissingWeightsError) as error:
        load_target("torchvision:resnet18")
    message = str(error.value)
    assert "https://download.pytorch.org/models/resnet18-" in message
    assert str(offline / "torch" / "hub" / "checkpoints") in message


def test_torchvision_bad_names_and_weights_are_config_errors():
    with pytest.raises(ConfigError, match="did you mean resnet18"):
        load_target("torchvision:resnet181")
    with pytest.raises(ConfigError, match="unknown weights 'V9' for resnet18"):
        load_target("torchvision:resnet18", weights="V9")


# --- timm -------------------------------------------------------------------------------------


def test_timm_family_with_random_weights_reads_vit_tokens_via_cls():
    target = load_target("timm:test_vit", pretrained=False)
    layers = list_layers(target)
    assert target.default_layer in layers and target.default_layer.startswith("blocks.")
    assert target.token_layout == "cls"
    size = target.input_size
    x = torch.rand(2, 3, size, size)
    with torch.no_grad():
        tokens = target.model.forward_features(x)  # ends with the final norm
    last_block = f"blocks.{len(target.model.blocks) - 1}"
    acts = layer_activations(target, "norm", x)
    np.testing.assert_allclose(acts, tokens[:, 0].numpy(), rtol=1e-5, atol=1e-6)
    assert layer_activations(target, last_block, x).shape == (2, layers[last_block])


def test_timm_offline_pretrained_is_missing_weights(offline):
    with pytest.raises(MissingWeightsError, match="timm/resnet18.a1_in1k.*pretrained=False"):
        load_target("timm:resnet18")
    with pytest.raises(ConfigError, match="not a timm model"):
        load_target("timm:resnet_nonexistent_xyz")


# --- Hugging Face -----------------------------------------------------------------------------


@pytest.fixture
def tiny_vit_folder(tmp_path):
    return save_tiny_vit(tmp_path / "tiny-vit", ("cat", "dog", "car"), hidden_size=16)


@pytest.mark.slow
def test_hf_family_loads_a_local_vit_and_reads_cls_tokens(tiny_vit_folder):
    target = load_target(f"hf:{tiny_vit_folder}")
    layers = list_layers(target)
    block = target.default_layer  # the last encoder layer ("model.vit.layers.1" here)
    assert block.startswith("model.vit.") and block.endswith(".1")
    assert layers[block] == 16 and layers["model.classifier"] == 3
    assert target.class_names == ["cat", "dog", "car"]
    assert target.input_size == 32 and target.token_layout == "cls"
    images = [Image.new("RGB", (40, 50), (i * 60, 20, 200)) for i in range(3)]
    pixels = target.preprocess(images)
    assert pixels.shape == (3, 3, 32, 32)
    with torch.no_grad():
        hidden = target.model.model(pixel_values=pixels, output_hidden_states=True).hidden_states
    acts = layer_activations(target, block, images)
    np.testing.assert_allclose(acts, hidden[2][:, 0].numpy(), rtol=1e-5, atol=1e-6)
    logits = layer_activations(target, "", images)  # the wrapper itself returns logits
    assert logits.shape == (3, 3)


def test_hf_offline_unknown_model_is_missing_weights(offline):
    with pytest.raises(MissingWeightsError, match="`hf download no-org/no-model`"):
        load_target("hf:no-org/no-model")


# --- local checkpoints: places365 and checkpoint:ARCH@PATH -------------------------------------


@pytest.mark.slow
def test_places365_checkpoint_format(tmp_path):
    import torchvision

    net = torchvision.models.resnet50(weights=None, num_classes=365)
    state = {f"module.{k}": v for k, v in net.state_dict().items()}
    path = tmp_path / "resnet50_places365.pth.tar"
    torch.save({"epoch": 90, "arch": "resnet50", "state_dict": state, "best_prec1": 54.7}, path)
    (tmp_path / "categories_places365.txt").write_text(
        "\n".join(f"/a/place_{i} {i}" for i in range(365))
    )
    target = load_target(f"places365:{path}")
    layers = list_layers(target)
    assert layers["fc"] == 365 and layers["avgpool"] == 2048
    assert target.class_names[:2] == ["place_0", "place_1"] and len(target.class_names) == 365
    torch.testing.assert_close(target.model.conv1.weight, net.conv1.weight)
    images = [Image.new("RGB", (64, 64), (90, 90, 200))] * 2
    assert layer_activations(target, "avgpool", images).shape == (2, 2048)


def test_places365_missing_file_names_the_download(tmp_path):
    with pytest.raises(MissingWeightsError, match="places2.csail.mit.edu"):
        load_target(f"places365:{tmp_path / 'none.pth.tar'}")


def test_checkpoint_family_loads_plain_and_safetensors_state_dicts(tmp_path):
    import torchvision
    from safetensors.torch import save_file

    net = torchvision.models.mobilenet_v3_small(weights=None, num_classes=10)
    torch.save({"state_dict": net.state_dict()}, tmp_path / "plain.pt")
    save_file(net.state_dict(), tmp_path / "weights.safetensors")
    for name in ("plain.pt", "weights.safetensors"):
        target = load_target(f"checkpoint:mobilenet_v3_small@{tmp_path / name}")
        assert list_layers(target)["classifier.3"] == 10  # class count from the checkpoint
        torch.testing.assert_close(target.model.classifier[3].weight, net.classifier[3].weight)


class _Pickled:
    """Not a tensor container: loading it needs unrestricted pickle."""

    def __init__(self):
        self.weights = torch.zeros(2)


def test_checkpoint_refuses_untrusted_pickles_and_mismatches(tmp_path):
    import torchvision

    torch.save(_Pickled(), tmp_path / "evil.pt")
    with pytest.raises(ConfigError, match="refusing to load .*evil.pt.*state_dict") as error:
        load_target(f"checkpoint:resnet18@{tmp_path / 'evil.pt'}")
    assert "\n" not in str(error.value)
    small = torchvision.models.mobilenet_v3_small(weights=None).state_dict()
    torch.save(small, tmp_path / "small.pt")
    with pytest.raises(ConfigError, match="does not fit the architecture: .*(missing|shape)"):
        load_target(f"checkpoint:squeezenet1_1@{tmp_path / 'small.pt'}")
    with pytest.raises(ConfigError, match="must be ARCH@PATH"):
        load_target("checkpoint:resnet18")
    with pytest.raises(ConfigError, match="unknown architecture 'resnet9'"):
        load_target(f"checkpoint:resnet9@{tmp_path / 'small.pt'}")
    with pytest.raises(MissingWeightsError, match="not found"):
        load_target(f"checkpoint:resnet18@{tmp_path / 'absent.pt'}")


# --- the offline default: EfficientNet-Lite0 --------------------------------------------------


def test_efficientnet_lite0_layers_and_class_names():
    target = load_target("efficientnet_lite0")
    layers = list_layers(target)
    assert layers["_conv_head"] == 1280 and layers["_fc"] == 1000
    assert layers["_blocks.15"] == 320 and layers["_conv_stem"] == 32
    assert "_swish" not in layers  # one activation module reused several times
    assert target.default_layer in layers
    assert 0 <= target.default_neuron < layers[target.default_layer]
    check_unit(target, target.default_layer, target.default_neuron)
    assert len(target.class_names) == 1000 and target.class_names[285] == "Egyptian cat"
    assert len(set(target.class_names)) == 1000


def test_efficientnet_lite0_classifies_the_skimage_cat():
    data = pytest.importorskip("skimage.data")
    target = load_target("efficientnet_lite0")
    logits = layer_activations(target, "_fc", [Image.fromarray(data.chelsea())])
    assert target.class_names[int(logits[0].argmax())] == "Egyptian cat"


# --- Hugging Face: every form of the image processor's size ----------------------------------


def _tiny_resnet_folder(folder, processor):
    """A tiny ResNetForImageClassification saved with ``processor`` into ``folder``."""
    from transformers import ResNetConfig, ResNetForImageClassification

    config = ResNetConfig(
        num_channels=3,
        embedding_size=8,
        hidden_sizes=[8, 16],
        depths=[1, 1],
        layer_type="basic",
        num_labels=3,
        id2label={0: "cat", 1: "dog", 2: "car"},
        label2id={"cat": 0, "dog": 1, "car": 2},
    )
    torch.manual_seed(0)
    ResNetForImageClassification(config).save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def _image_processors():
    from transformers import ConvNextImageProcessor, ViTImageProcessor

    return {
        # microsoft/resnet-50's form: shortest edge, crop_pct (resize to 64/0.875, crop 64)
        "shortest_edge": (ConvNextImageProcessor(size={"shortest_edge": 64}, crop_pct=0.875), 64),
        "height_width": (ViTImageProcessor(size={"height": 48, "width": 48}), 48),
    }


@pytest.mark.parametrize("form", ["shortest_edge", "height_width"])
def test_hf_resnet_with_each_processor_size_form_runs_a_forward(tmp_path, form):
    processor, side = _image_processors()[form]
    folder = _tiny_resnet_folder(tmp_path / f"tiny-resnet-{form}", processor)
    target = load_target(f"hf:{folder}")
    assert target.input_size == side
    assert target.class_names == ["cat", "dog", "car"]
    images = [Image.new("RGB", (80 + 20 * i, 60), (i * 60, 20, 200)) for i in range(3)]
    assert target.preprocess(images).shape == (3, 3, side, side)
    layers = list_layers(target)  # probes a blank input_size x input_size image
    assert target.default_layer in layers
    acts = layer_activations(target, target.default_layer, images)
    assert acts.shape == (3, layers[target.default_layer]) and np.isfinite(acts).all()
    logits = layer_activations(target, "", images)
    assert logits.shape == (3, 3)


def test_hf_processor_input_size_reads_every_size_form():
    from types import SimpleNamespace

    from transformers import CLIPImageProcessor, DeiTImageProcessor

    from line_core.targets.hf import processor_input_size

    assert processor_input_size(_image_processors()["shortest_edge"][0]) == 64
    assert processor_input_size(CLIPImageProcessor()) == 224  # shortest_edge 224, crop 224
    assert processor_input_size(DeiTImageProcessor()) == 224  # resize 256, crop_size wins
    assert processor_input_size(SimpleNamespace(size=96)) == 96
    assert processor_input_size(SimpleNamespace(size={"longest_edge": 512})) == 512
    both = {"shortest_edge": 800, "longest_edge": 600}
    assert processor_input_size(SimpleNamespace(size=both)) == 600
    uncropped = SimpleNamespace(
        size={"height": 40, "width": 40},
        crop_size={"height": 32, "width": 32},
        do_center_crop=False,
    )
    assert processor_input_size(uncropped) == 40


@pytest.mark.parametrize("size", [{"max_pixels": 4096}, {}, None, "large"])
def test_hf_processor_size_it_cannot_read_is_one_config_error_line(size):
    from types import SimpleNamespace

    from line_core.targets.hf import processor_input_size

    with pytest.raises(ConfigError, match="hf:some/model: cannot tell the input size") as info:
        processor_input_size(SimpleNamespace(size=size), "hf:some/model")
    message = str(info.value)
    assert "\n" not in message and "shortest_edge" in message


def test_hf_offline_message_names_hf_download_not_huggingface_cli(offline):
    with pytest.raises(MissingWeightsError) as info:
        load_target("hf:no-org/no-model")
    message = str(info.value)
    assert "hf download no-org/no-model" in message and "--local-dir" in message
    assert "huggingface-cli" not in message and "\n" not in message
