"""Control sets: the images a concept's activations are compared against.

Two kinds, chosen by a spec string:

* ``generator`` (default): images the run's own generator renders from a fixed list of diverse
  neutral prompts. Comparing generated concept images with generated control images removes
  the synthetic-versus-natural confound of scoring against real photos.
* a folder of images, flat or with class subfolders (as ImageNet val); class subfolders make the
  reference's class-aware initial pool possible. Unreadable or non-image files are skipped and
  counted.

Activations of the whole layer are cached on disk per (model, layer, control, read-out), so every
neuron of a layer shares one forward pass over the control images.

:func:`write_photo_crops` writes a tiny folder of natural photo crops (the photos that ship
inside scikit-image and scikit-learn): an offline stand-in for a natural control folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from line_core.atlas import Atlas
from line_core.atlas.key import model_fingerprint
from line_core.atlas.measure import measure_concepts
from line_core.errors import ConfigError
from line_core.generators.base import ImageGenerator
from line_core.paths import cache_dir
from line_core.probe import layer_activations
from line_core.targets.base import Target

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm"}
MIN_CONTROL_IMAGES = 10
#: Seeds of generator-matched control images start here, far from concept seeds' typical use.
CONTROL_SEED_BASE = 1_000_000


@dataclass
class ControlSet:
    """Activations of a layer on the control images, with class labels when known."""

    activations: np.ndarray  # [n_images, n_units]
    refs: list[str]  # a prompt or a file path per image
    description: str
    labels: list[str] | None = None
    skipped: int = 0
    images: list[Image.Image] = field(default_factory=list, repr=False)

    def unit(self, neuron: int) -> np.ndarray:
        """Activations of one unit on every control image."""
        return self.activations[:, neuron]

    def class_means(self, neuron: int) -> dict[str, float]:
        """Mean activation of a unit per control class (empty without class labels)."""
        if not self.labels:
            return {}
        values = self.unit(neuron)
        labels = np.asarray(self.labels)
        return {c: float(values[labels == c].mean()) for c in sorted(set(self.labels))}


def _cached_activations(key: dict[str, object], compute: Callable[[], np.ndarray]) -> np.ndarray:
    """Load activations cached under a key, or compute and cache them (atomic write)."""
    name = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]
    path = cache_dir("control") / f"{name}.npy"
    if path.exists():
        try:
            return np.load(path)
        except (OSError, ValueError):
            path.unlink(missing_ok=True)  # a damaged cache entry is recomputed
    values = compute()
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.{secrets.token_hex(4)}.tmp.npy")
    try:  # a private temporary name: two processes filling one entry never mix their bytes
        np.save(tmp, values)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return values


def _control_requests(generator: ImageGenerator, size: int) -> list[tuple[str, list[int]]]:
    """(prompt, [seed]) of each control image: the neutral prompts in turn, one seed each."""
    prompts = generator.control_prompts()
    if not prompts:
        raise ConfigError(f"generator '{generator.name}' offers no control prompts")
    return [(prompts[i % len(prompts)], [CONTROL_SEED_BASE + i]) for i in range(size)]


def generator_control(
    target: Target,
    layer: str,
    generator: ImageGenerator,
    size: int = 60,
    reduction: str = "auto",
    keep_images: bool = False,
    atlas: Atlas | None = None,
) -> ControlSet:
    """A generator-matched control set of ``size`` images (through the atlas when given).

    Activations are also cached on disk per (model, layer, generator, prompts, read-out), so a
    run without an atlas does not render the control images again either.
    """
    requests = _control_requests(generator, size)
    measured: list = []

    def compute() -> np.ndarray:
        measured[:] = measure_concepts(requests, generator, target, layer, reduction, atlas=atlas)
        return np.concatenate([m.rows for m in measured], axis=0)

    key = {
        "kind": "generator",
        "model": model_fingerprint(target),
        "layer": layer,
        "generator": generator.name,
        "prompts": generator.control_prompts(),
        "size": size,
        "reduction": reduction,
        "seed_base": CONTROL_SEED_BASE,
    }
    activations = _cached_activations(key, compute)
    images: list[Image.Image] = []
    if keep_images:
        images = [img for prompt, seeds in requests for img in generator.generate(prompt, seeds)]
    return ControlSet(
        activations=activations,
        refs=[prompt for prompt, _ in requests],
        description=f"{size} images from '{generator.name}' on neutral prompts (generator-matched)",
        images=images,
    )


def scan_folder(folder: Path) -> tuple[list[Path], list[str] | None]:
    """Image files of a folder (flat, or one level of class subfolders) and their classes."""
    if not folder.is_dir():
        raise ConfigError(f"control folder '{folder}' does not exist or is not a folder")
    try:
        return _scan(folder)
    except OSError as exc:
        raise ConfigError(
            f"control folder '{folder}' cannot be read ({exc.strerror or exc}): check its "
            "permissions"
        ) from None


def _scan(folder: Path) -> tuple[list[Path], list[str] | None]:
    subdirs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if subdirs:
        files, labels = [], []
        for sub in subdirs:
            for path in sorted(sub.iterdir()):
                if path.is_file() and not path.name.startswith("."):
                    files.append(path)
                    labels.append(sub.name.replace("_", " "))
        return files, labels
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    return files, None


def _read_image(path: Path) -> Image.Image | None:
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        return None
    try:
        with Image.open(path) as img:
            return img.convert("RGB")
    except (OSError, UnidentifiedImageError, ValueError):
        return None


def folder_control(
    target: Target,
    layer: str,
    folder: Path | str,
    reduction: str = "auto",
    batch_size: int = 64,
    progress: bool = False,
) -> ControlSet:
    """Control activations over an image folder, computed once and cached on disk."""
    root = Path(folder).expanduser().resolve()
    files, labels = scan_folder(root)
    readable: list[Path] = []
    readable_labels: list[str] = []
    images: list[Image.Image] = []
    skipped = 0
    for index, path in enumerate(files):
        image = _read_image(path)
        if image is None:
            skipped += 1
            continue
        readable.append(path)
        images.append(image)
        if labels is not None:
            readable_labels.append(labels[index])
    if len(readable) < MIN_CONTROL_IMAGES:
        raise ConfigError(
            f"control folder '{root}' has {len(readable)} readable images "
            f"({skipped} skipped); at least {MIN_CONTROL_IMAGES} are needed"
        )

    def compute() -> np.ndarray:
        return _batched_activations(target, layer, images, reduction, batch_size, progress)

    stat_key = [
        (str(p.relative_to(root)), p.stat().st_size, p.stat().st_mtime_ns) for p in readable
    ]
    key = {
        "kind": "folder",
        "model": model_fingerprint(target),
        "layer": layer,
        "files": stat_key,
        "reduction": reduction,
    }
    activations = _cached_activations(key, compute)
    return ControlSet(
        activations=activations,
        refs=[str(p) for p in readable],
        description=f"{len(readable)} images from {root}"
        + (f" in {len(set(readable_labels))} classes" if labels else ""),
        labels=readable_labels or None,
        skipped=skipped,
    )


def _batched_activations(
    target: Target,
    layer: str,
    images: Sequence[Image.Image],
    reduction: str,
    batch_size: int,
    progress: bool,
) -> np.ndarray:
    chunks = range(0, len(images), batch_size)
    if progress:
        from tqdm import tqdm

        chunks = tqdm(chunks, desc="control activations", unit="batch")
    parts = [
        layer_activations(target, layer, images[i : i + batch_size], reduction=reduction)
        for i in chunks
    ]
    return np.concatenate(parts, axis=0)


def load_control(
    spec: str,
    target: Target,
    layer: str,
    generator: ImageGenerator,
    size: int = 60,
    reduction: str = "auto",
    progress: bool = False,
    atlas: Atlas | None = None,
) -> ControlSet:
    """Build the control set a spec names: ``generator`` or a folder path."""
    if spec in ("", "generator"):
        if size < MIN_CONTROL_IMAGES:
            raise ConfigError(
                f"control size {size} is too small; use at least {MIN_CONTROL_IMAGES}"
            )
        return generator_control(target, layer, generator, size=size, reduction=reduction,
                                 atlas=atlas)
    with torch.inference_mode():
        return folder_control(target, layer, spec, reduction=reduction, progress=progress)


#: ``skimage.data`` photographs (no drawings, logos or synthetic test patterns).
SKIMAGE_PHOTOS = (
    "astronaut", "coffee", "chelsea", "rocket", "camera", "coins", "moon", "grass", "gravel",
    "brick", "hubble_deep_field", "clock",
)  # fmt: skip
SKLEARN_PHOTOS = ("china.jpg", "flower.jpg")
#: A crop's side, as a share of the photo's shorter side.
CROP_SHARE = (0.35, 0.9)


def packaged_photos() -> list[tuple[str, Image.Image]]:
    """(name, RGB image) of every photo shipped in a package that loads here, in fixed order.

    scikit-image is a dev dependency: without it only scikit-learn's two photos remain.
    """
    photos: list[tuple[str, Image.Image]] = []
    try:
        from skimage import data
    except ImportError:
        data = None
    for name in SKIMAGE_PHOTOS if data is not None else ():
        try:
            pixels = getattr(data, name)()
        except Exception:  # noqa: BLE001 - a photo that needs a download is left out
            continue
        photos.append((name, Image.fromarray(np.asarray(pixels)).convert("RGB")))
    from sklearn.datasets import load_sample_image

    for name in SKLEARN_PHOTOS:
        photos.append((Path(name).stem, Image.fromarray(load_sample_image(name)).convert("RGB")))
    return photos


def photo_crops(count: int = 60, size: int = 224, seed: int = 0) -> list[Image.Image]:
    """``count`` square crops of the packaged photos, ``size`` pixels a side, seeded.

    Crop ``i`` comes from photo ``i % n``: a random square of 35-90 % of its shorter side at a
    random place, mirrored left-right with probability one half, resized to ``size``.
    """
    if count < 1 or size < 8:
        raise ValueError("photo_crops needs count >= 1 and size >= 8")
    photos = packaged_photos()
    rng = np.random.default_rng(seed)
    crops = []
    for index in range(count):
        _, photo = photos[index % len(photos)]
        width, height = photo.size
        side = int(min(width, height) * rng.uniform(*CROP_SHARE))
        left = int(rng.integers(0, width - side + 1))
        top = int(rng.integers(0, height - side + 1))
        crop = photo.crop((left, top, left + side, top + side))
        if rng.random() < 0.5:
            crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        crops.append(crop.resize((size, size), Image.Resampling.BICUBIC))
    return crops


def write_photo_crops(folder: Path | str, count: int = 60, size: int = 224, seed: int = 0) -> Path:
    """Write :func:`photo_crops` as ``photo_000.png`` ... into ``folder``; returns the folder.

    A tiny stand-in for a real validation split (a dozen packaged photos, cropped and
    mirrored): enough to exercise the natural-image control regime offline, far too few and
    too alike to stand for ImageNet val in a reported result.
    """
    out = Path(folder).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    for index, crop in enumerate(photo_crops(count, size, seed)):
        crop.save(out / f"photo_{index:03d}.png")
    return out
