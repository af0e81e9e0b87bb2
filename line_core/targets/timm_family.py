"""`timm:NAME`: any timm model, pretrained weights from the Hugging Face hub (or its cache)."""

from __future__ import annotations

import difflib
import os

from line_core.errors import ConfigError, MissingWeightsError
from line_core.targets.base import TARGETS, Target
from line_core.targets.common import guess_default_layer, is_offline
from line_core.targets.preprocess import PerImageTransform


def _class_names(model: object) -> list[str] | None:
    try:
        from timm.data import ImageNetInfo, infer_imagenet_subset

        subset = infer_imagenet_subset(model)
        return ImageNetInfo(subset).label_descriptions() if subset else None
    except Exception:  # class names are optional metadata
        return None


def _weights_cached(cfg: object) -> bool:
    """Whether timm would find this model's pretrained weights without a network."""
    hub_id = getattr(cfg, "hf_hub_id", None)
    if hub_id:
        from huggingface_hub import try_to_load_from_cache

        repo, _, revision = hub_id.partition("@")
        names = [getattr(cfg, "hf_hub_filename", None), "model.safetensors", "pytorch_model.bin"]
        for filename in filter(None, names):
            found = try_to_load_from_cache(repo, filename, revision=revision or None)
            if isinstance(found, str):
                return True
        return False
    url = getattr(cfg, "url", None)
    if url:
        from line_core.targets.torchvision_family import torchvision_cache_path

        return os.path.exists(torchvision_cache_path(url))
    return bool(getattr(cfg, "file", None))


def _missing(name: str, cfg: object, why: str) -> MissingWeightsError:
    source = getattr(cfg, "hf_hub_id", None) or getattr(cfg, "url", None) or name
    fetch = f"download {source}"
    if getattr(cfg, "hf_hub_id", None):
        repo, _, revision = source.partition("@")
        fetch = f"run `hf download {repo}" + (f" --revision {revision}`" if revision else "`")
    return MissingWeightsError(
        f"pretrained weights for timm:{name} are not on this machine ({why}); {fetch} "
        "(or run once online), or use pretrained=False"
    )


@TARGETS.register(
    "timm",
    "any timm model, e.g. timm:resnet50.a1_in1k (pretrained from the HF hub)",
    takes_argument=True,
)
def timm_target(name: str, pretrained: bool = True) -> Target:
    """Timm model ``name`` (optionally ``arch.tag``); ``pretrained=False`` for random weights.

    Preprocessing follows timm's data config for the model. Offline with no cached weights,
    MissingWeightsError names the hub repository to download.
    """
    import timm
    from timm.data import create_transform, resolve_model_data_config

    if not timm.is_model(name):
        close = difflib.get_close_matches(name, timm.list_models(), n=4)
        hint = f"did you mean {', '.join(close)}?" if close else "see timm.list_models()"
        raise ConfigError(f"'{name}' is not a timm model; {hint}")
    cfg = timm.models.get_pretrained_cfg(name) if pretrained else None
    if pretrained and is_offline() and not _weights_cached(cfg):
        raise _missing(name, cfg, "offline and not in the cache")
    try:
        model = timm.create_model(name, pretrained=pretrained)
    except OSError as exc:  # hub and download errors are OSErrors
        raise _missing(name, cfg, type(exc).__name__) from None
    config = resolve_model_data_config(model)
    transform = create_transform(**config, is_training=False)
    has_cls = (
        getattr(model, "num_prefix_tokens", 1) > 0 and getattr(model, "cls_token", 1) is not None
    )
    return Target(
        name=f"timm:{name}",
        model=model.eval(),
        preprocess=PerImageTransform(transform),
        description=f"timm {name} ({'pretrained' if pretrained else 'random init'})",
        default_layer=guess_default_layer(model),
        class_names=_class_names(model) if pretrained else None,
        input_size=int(config["input_size"][-1]),
        token_layout="cls" if has_cls else "mean",
        extra={"data_config": dict(config)},
    )
