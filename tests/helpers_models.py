"""Tiny models with known outputs for the target and probe tests (no downloads, instant)."""

from __future__ import annotations

import torch
from torch import nn

from line_core.targets.base import Target
from line_core.targets.preprocess import ImagePreprocess


class CallCounter(nn.Module):
    """Identity that counts its calls (to see whether a forward went past a layer)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return x


class FixedConvNet(nn.Module):
    """1x1 conv with fixed weights: channel 0 = R + G + B, channel 1 = R - B, channel 2 = 2G.

    Layers: ``conv`` [N, 3, H, W], ``after`` (a call counter), ``pool`` [N, 3, 1, 1],
    ``flat`` [N, 3], ``fc`` [N, 2] with fc = (c0 + c1, c2 - c0).
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, kernel_size=1, bias=False)
        self.after = CallCounter()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flat = nn.Flatten()
        self.fc = nn.Linear(3, 2, bias=False)
        with torch.no_grad():
            self.conv.weight.copy_(
                torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, -1.0], [0.0, 2.0, 0.0]]).view(3, 3, 1, 1)
            )
            self.fc.weight.copy_(torch.tensor([[1.0, 1.0, 0.0], [-1.0, 0.0, 1.0]]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.flat(self.pool(self.after(self.conv(x)))))


class TokenNet(nn.Module):
    """Image -> tokens [N, 1 + 4, 3]: a CLS token (the per-channel image max) then the mean of
    each image quadrant; ``blocks`` are two identity layers, ``head`` reads the CLS token."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks = nn.ModuleList([CallCounter(), CallCounter()])
        self.head = nn.Linear(3, 2)

    def tokens(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2] // 2, x.shape[-1] // 2
        quads = [x[..., :h, :w], x[..., :h, w:], x[..., h:, :w], x[..., h:, w:]]
        cls = x.amax(dim=(2, 3))
        return torch.stack([cls] + [q.mean(dim=(2, 3)) for q in quads], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = self.tokens(x)
        for block in self.blocks:
            t = block(t)
        return self.head(t[:, 0])


class OddOutputsNet(nn.Module):
    """A model with a tuple-returning module, a reused module and a 1-D output."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.shared = nn.ReLU()  # called twice: ambiguous, left out of the listing
        self.pair = PairModule()
        self.squash = Squash()
        self.fc = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.shared(self.conv(x))
        x = self.shared(x)
        first, _ = self.pair(x)
        _ = self.squash(first)
        return self.fc(first.mean(dim=(2, 3)))


class PairModule(nn.Module):
    """Returns a tuple (not a tensor)."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x, x


class Squash(nn.Module):
    """Returns a 1-D tensor (no unit dimension)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten()


class RaisingNet(nn.Module):
    """``conv`` then ``boom``, which raises when ``armed``; ``head`` after it."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 1)
        self.boom = Boom()
        self.head = nn.Flatten()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.boom(self.conv(x)))


class Boom(nn.Module):
    """Raises ValueError when ``armed``."""

    def __init__(self) -> None:
        super().__init__()
        self.armed = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.armed:
            raise ValueError("boom")
        return x


def make_target(model: nn.Module, size: int = 8, name: str = "tiny") -> Target:
    """Wrap a tiny model as a Target whose preprocessing maps images to [0, 1] at ``size``."""
    return Target(
        name=name, model=model.eval(), preprocess=ImagePreprocess(size=size), input_size=size
    )


def all_hooks(model: nn.Module) -> int:
    """Number of forward hooks left on any submodule."""
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


def save_tiny_vit(folder, labels: tuple[str, ...], hidden_size: int = 16):
    """Save a seeded 2-layer ViT classifier (32x32 inputs) and its image processor; the folder."""
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    config = ViTConfig(
        hidden_size=hidden_size,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=2 * hidden_size,
        image_size=32,
        patch_size=8,
        num_channels=3,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={name: i for i, name in enumerate(labels)},
    )
    torch.manual_seed(0)
    ViTForImageClassification(config).save_pretrained(folder)
    ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(folder)
    return folder
