"""GPU check: LINE-like work on CUDA, compared with the CPU on the same inputs, timed.

    python benchmarks/gpu_check.py            # on a CUDA machine; < 5 minutes
    python benchmarks/gpu_check.py --device cpu --small   # dry run of the script itself

Real architectures with random weights (nothing is downloaded): a Stable-Diffusion-like
diffusers pipeline built from configs (UNet2DConditionModel, 4-block AutoencoderKL, CLIP text
encoder; 256x256 images) driven through LINE's own ``diffusers:PATH`` generator, and a
torchvision ResNet-50 (``weights=None``) read with forward hooks at ``layer3`` and ``avgpool``,
as LINE reads a neuron. Each GPU result is compared with a float32 CPU run on the same inputs:
strict float32 (TF32 off) must match closely, TF32 (PyTorch's default for convolutions) and
half precision within looser tolerances. Prints one table; exits 1 when a check fails. Without
CUDA it prints one line and exits 0.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from tiny_diffusion import save_tiny_pipeline  # noqa: E402

from line_core.generators import GENERATORS  # noqa: E402

#: Stable-Diffusion-like sizes: 8x VAE, 3-level UNet with cross-attention, 4-layer CLIP.
SD_LIKE = {
    "unet_channels": (64, 128, 256),
    "vae_channels": (32, 64, 128, 128),
    "text_width": 256,
    "text_layers": 4,
    "sample_size": 32,
    "norm_groups": 32,
}
#: The test suite's tiny sizes (64x64 images), for ``--small``.
TINY: dict = {}

SEEDS = [0, 1, 2, 3]
CONCEPT = "red striped umbrella"
# Tolerances: relative max error (|a-b|max / |ref|max) for activations, 0-255 levels for pixels.
TOL_FP32 = 1e-3
TOL_TF32 = 3e-2
TOL_HALF = 1e-1
PIXELS_FP32 = 1.0  # mean absolute pixel difference, float32 GPU vs CPU


@dataclass
class Row:
    stage: str
    device: str
    precision: str
    seconds: float
    measure: str = ""
    ok: bool | None = None  # None: reported only


def set_tf32(enabled: bool) -> None:
    """TF32 on or off for matmuls and cuDNN convolutions (new API when torch has it)."""
    matmul, conv = torch.backends.cuda.matmul, torch.backends.cudnn.conv
    if hasattr(matmul, "fp32_precision"):
        matmul.fp32_precision = conv.fp32_precision = "tf32" if enabled else "ieee"
    else:
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = enabled


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


@contextmanager
def timer(device: str) -> Iterator[list[float]]:
    synchronize(device)
    box: list[float] = []
    start = time.perf_counter()
    yield box
    synchronize(device)
    box.append(time.perf_counter() - start)


def relative_error(result: np.ndarray, reference: np.ndarray) -> float:
    if not np.isfinite(result).all():
        return float("inf")
    scale = float(np.abs(reference).max()) or 1.0
    return float(np.abs(result.astype(np.float64) - reference).max() / scale)


def pixel_difference(images, reference) -> float:
    diffs = [
        np.abs(np.asarray(a, np.float32) - np.asarray(b, np.float32)).mean()
        for a, b in zip(images, reference, strict=True)
    ]
    return float(np.mean(diffs))


# --- diffusion --------------------------------------------------------------------------------


def make_generator(folder: Path, device: str, dtype: str, **options):
    return GENERATORS.create(
        f"diffusers:{folder}", device=device, dtype=dtype, steps=4, guidance=5.0, **options
    )


def timed_generation(generator, device: str) -> tuple[list, float, float]:
    """Load + first batch (cold), then the same batch again (warm)."""
    with timer(device) as cold:
        generator.load()
        generator.generate(CONCEPT, SEEDS)
    with timer(device) as warm:
        images = generator.generate(CONCEPT, SEEDS)
    return images, cold[0], warm[0]


def unet_noise(generator, device: str) -> tuple[np.ndarray, float]:
    """One UNet forward on fixed inputs (the step every diffusion iteration repeats)."""
    unet = generator.load().unet
    config = unet.config
    rng = torch.Generator().manual_seed(0)
    latents = torch.randn(
        2, config.in_channels, config.sample_size, config.sample_size, generator=rng
    )
    text = torch.randn(2, 77, config.cross_attention_dim, generator=rng)
    with torch.no_grad(), timer(device) as elapsed:
        out = unet(
            latents.to(device, unet.dtype),
            torch.tensor([500], device=device),
            text.to(device, unet.dtype),
        ).sample
    return out.float().cpu().numpy(), elapsed[0]


def diffusion_checks(device: str, sizes: dict, rows: list[Row]) -> list:
    with tempfile.TemporaryDirectory() as scratch:
        with timer("cpu") as built:
            folder = save_tiny_pipeline(Path(scratch) / "sd_like", **sizes)
        rows.append(Row("build+save SD-like pipeline", "cpu", "float32", built[0]))

        cpu = make_generator(folder, "cpu", "float32")
        reference, cold, warm = timed_generation(cpu, "cpu")
        size = f"{reference[0].size[0]}x{reference[0].size[1]}"
        rows.append(
            Row(
                f"generate 4 images {size}, 4 steps, cfg",
                "cpu",
                "float32",
                warm,
                f"cold (load+first) {cold:.2f}s",
            )
        )
        unet_reference, seconds = unet_noise(cpu, "cpu")
        rows.append(Row("unet forward (batch 2)", "cpu", "float32", seconds))
        del cpu

        set_tf32(False)
        strict = make_generator(folder, device, "float32")
        images, cold, warm = timed_generation(strict, device)
        difference = pixel_difference(images, reference)
        rows.append(
            Row(
                f"generate 4 images {size}, 4 steps, cfg",
                device,
                "float32 strict",
                warm,
                f"pixels |gpu-cpu| mean {difference:.3f} <= {PIXELS_FP32}",
                difference <= PIXELS_FP32,
            )
        )
        noise, seconds = unet_noise(strict, device)
        error = relative_error(noise, unet_reference)
        rows.append(
            Row(
                "unet forward (batch 2)",
                device,
                "float32 strict",
                seconds,
                f"rel err {error:.1e} <= {TOL_FP32:.0e}",
                error <= TOL_FP32,
            )
        )
        set_tf32(True)
        noise, seconds = unet_noise(strict, device)
        error = relative_error(noise, unet_reference)
        rows.append(
            Row(
                "unet forward (batch 2)",
                device,
                "tf32",
                seconds,
                f"rel err {error:.1e} <= {TOL_TF32:.0e}",
                error <= TOL_TF32,
            )
        )
        del strict

        half = make_generator(folder, device, "auto")
        half_images, cold, warm = timed_generation(half, device)
        precision = str(half.load().unet.dtype).removeprefix("torch.")
        blank = len(half.last_flagged)
        rows.append(
            Row(
                f"generate 4 images {size}, 4 steps, cfg",
                device,
                f"auto ({precision})",
                warm,
                f"flagged blank {blank}; pixels vs cpu "
                f"{pixel_difference(half_images, reference):.2f}",
                blank == 0,
            )
        )
        del half

        if device.startswith("cuda"):
            offload = make_generator(folder, device, "auto", cpu_offload=True)
            offload_images, cold, warm = timed_generation(offload, device)
            difference = pixel_difference(offload_images, half_images)
            rows.append(
                Row(
                    "generate with cpu_offload",
                    device,
                    f"auto ({precision})",
                    warm,
                    f"pixels vs on-GPU {difference:.3f} <= 1",
                    difference <= 1.0,
                )
            )
            del offload
    return images


# --- classifier ---------------------------------------------------------------------------------


def resnet_inputs(images, count: int) -> torch.Tensor:
    """The generated images plus seeded random ones, ImageNet-normalised, 224x224."""
    mean = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)
    tensors = [
        (
            torch.from_numpy(
                np.asarray(im.convert("RGB").resize((224, 224)), np.float32) / 255
            ).permute(2, 0, 1)
            - mean
        )
        / std
        for im in images
    ]
    rng = torch.Generator().manual_seed(1)
    extra = torch.randn(max(count - len(tensors), 0), 3, 224, 224, generator=rng)
    return torch.cat([torch.stack(tensors), extra])


def hooked_activations(
    model, batch: torch.Tensor, device: str, autocast: bool = False
) -> tuple[dict[str, np.ndarray], float]:
    """Per-unit activations at layer3 (spatial mean) and avgpool, read by forward hooks."""
    captured: dict[str, torch.Tensor] = {}

    def keep(name: str) -> Callable:
        def hook(_module, _inputs, output):
            captured[name] = output.float().mean(dim=(2, 3))

        return hook

    handles = [model.get_submodule(n).register_forward_hook(keep(n)) for n in ("layer3", "avgpool")]
    try:
        with (
            torch.no_grad(),
            torch.autocast(device.split(":")[0], enabled=autocast),
            timer(device) as elapsed,
        ):
            model(batch.to(device))
    finally:
        for handle in handles:
            handle.remove()
    return {k: v.cpu().numpy() for k, v in captured.items()}, elapsed[0]


def resnet_checks(device: str, images, count: int, rows: list[Row]) -> None:
    from torchvision.models import resnet50

    torch.manual_seed(0)
    model = resnet50(weights=None).eval()
    batch = resnet_inputs(images, count)
    reference, seconds = hooked_activations(model, batch, "cpu")
    rows.append(Row(f"resnet50 forward, {count} images", "cpu", "float32", seconds))
    model.to(device)
    hooked_activations(model, batch, device)  # warm-up (cuDNN algorithm choice)
    for precision, tf32, autocast, tolerance in (
        ("float32 strict", False, False, TOL_FP32),
        ("tf32", True, False, TOL_TF32),
        ("autocast fp16/bf16", True, True, TOL_HALF),
    ):
        set_tf32(tf32)
        hooked_activations(model, batch, device, autocast)
        result, seconds = hooked_activations(model, batch, device, autocast)
        errors = {k: relative_error(result[k], reference[k]) for k in reference}
        same_top = np.mean(result["avgpool"].argmax(0) == reference["avgpool"].argmax(0))
        worst = max(errors.values())
        rows.append(
            Row(
                f"resnet50 forward, {count} images",
                device,
                precision,
                seconds,
                f"rel err {worst:.1e} <= {tolerance:.0e}; same top image {same_top:.1%}",
                worst <= tolerance,
            )
        )


def quiet() -> None:
    """No progress bars or deprecation chatter around the table."""
    import warnings

    import diffusers
    import huggingface_hub
    import transformers

    warnings.simplefilter("ignore", FutureWarning)
    diffusers.utils.logging.disable_progress_bar()
    transformers.utils.logging.disable_progress_bar()
    huggingface_hub.utils.disable_progress_bars()


def print_table(rows: list[Row]) -> None:
    header = ("stage", "device", "precision", "seconds", "check")
    table = [header] + [
        (
            r.stage,
            r.device,
            r.precision,
            f"{r.seconds:.3f}",
            ("" if r.ok is None else "PASS " if r.ok else "FAIL ") + r.measure,
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header) - 1)]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)), row[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="device to check against the CPU")
    parser.add_argument("--small", action="store_true", help="tiny sizes (dry run)")
    args = parser.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("gpu_check: no CUDA device on this machine; nothing to check")
        return 0
    quiet()
    started = time.perf_counter()
    name = torch.cuda.get_device_name(args.device) if args.device.startswith("cuda") else "cpu"
    print(f"gpu_check on {name}; torch {torch.__version__}, {torch.get_num_threads()} CPU threads")
    rows: list[Row] = []
    images = diffusion_checks(args.device, TINY if args.small else SD_LIKE, rows)
    resnet_checks(args.device, images, 8 if args.small else 32, rows)
    print_table(rows)
    failed = [r for r in rows if r.ok is False]
    total = time.perf_counter() - started
    print(f"{len(rows) - len(failed)}/{len(rows)} rows fine, {len(failed)} failed, {total:.0f}s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
