"""ImageNet class names, read offline from the files that ship inside the ``timm`` wheel.

``timm/data/_info/`` holds the 1k synset ids in class-index order (``imagenet_synsets.txt``),
WordNet lemmas for every synset of the 21k hierarchy (``imagenet_synset_to_lemma.txt``) and their
definitions. The files are read directly, without importing timm (which is slow to import).
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

from line_core.errors import MissingWeightsError


def _info_dir() -> Path:
    spec = importlib.util.find_spec("timm")
    if spec is None or not spec.submodule_search_locations:
        raise MissingWeightsError(
            "ImageNet class names come from the timm package: pip install timm"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "data" / "_info"


def _read_table(name: str) -> dict[str, str]:
    table: dict[str, str] = {}
    for line in (_info_dir() / name).read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition("\t")
        if key:
            table[key] = value.strip()
    return table


@lru_cache(maxsize=1)
def imagenet_synsets() -> tuple[str, ...]:
    """The 1000 ImageNet-1k WordNet ids (e.g. "n02124075") in class-index order."""
    lines = (_info_dir() / "imagenet_synsets.txt").read_text(encoding="utf-8").split()
    return tuple(lines)


@lru_cache(maxsize=1)
def synset_lemmas() -> dict[str, str]:
    """WordNet id -> all lemmas ("tench, Tinca tinca") for the whole ImageNet-21k hierarchy."""
    return _read_table("imagenet_synset_to_lemma.txt")


@lru_cache(maxsize=1)
def synset_definitions() -> dict[str, str]:
    """WordNet id -> one-sentence definition (ImageNet-21k hierarchy)."""
    return _read_table("imagenet_synset_to_definition.txt")


@lru_cache(maxsize=1)
def imagenet_class_lemmas() -> tuple[str, ...]:
    """All lemmas of each ImageNet-1k class, comma separated, in class-index order."""
    lemmas = synset_lemmas()
    return tuple(lemmas[synset] for synset in imagenet_synsets())


# The only first lemmas shared by two ImageNet-1k classes.
_DISAMBIGUATED = {134: "crane (bird)", 517: "crane (machine)", 639: "tank suit"}


@lru_cache(maxsize=1)
def imagenet_class_names() -> tuple[str, ...]:
    """A short, unique name per ImageNet-1k class: its first lemma ("Egyptian cat", "tench")."""
    names = [lemma.split(",")[0].strip() for lemma in imagenet_class_lemmas()]
    for index, name in _DISAMBIGUATED.items():
        names[index] = name
    seen: dict[str, int] = {}
    for name in names:
        seen[name] = seen.get(name, 0) + 1
    return tuple(f"{n} ({i})" if seen[n] > 1 else n for i, n in enumerate(names))


@lru_cache(maxsize=1)
def imagenet21k_concepts() -> tuple[str, ...]:
    """First lemma of every synset of the ImageNet-21k hierarchy (a large concept vocabulary)."""
    return tuple(dict.fromkeys(v.split(",")[0].strip() for v in synset_lemmas().values() if v))
