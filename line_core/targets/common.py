"""Helpers shared by the target families: offline detection and a default read-out layer."""

from __future__ import annotations

from torch import nn

from line_core.hub import is_offline  # noqa: F401 - re-exported for the families

#: Pooled-feature modules, the usual read-out for neuron labels (CoSy reads ResNet-50 `avgpool`).
_POOL_NAMES = ("avgpool", "global_pool", "head.global_pool", "pooler")


def guess_default_layer(model: nn.Module) -> str | None:
    """A sensible layer to explain: the pooled features, else the last block of the block stack.

    The block stack is the ModuleList / Sequential with the most children (``blocks`` in timm
    ViTs, ``encoder.layer`` in HF ViTs, ``encoder.layers`` in torchvision's ViT).
    """
    modules = dict(model.named_modules())
    for suffix in _POOL_NAMES:
        for name in modules:
            if name == suffix or name.endswith("." + suffix):
                return name
    best_name, best_count = None, 1
    for name, module in modules.items():
        if name and isinstance(module, (nn.ModuleList, nn.Sequential)) and len(module) > best_count:
            best_name, best_count = name, len(module)
    if best_name is None:
        return None
    last = list(dict(modules[best_name].named_children()))[-1]
    return f"{best_name}.{last}"
