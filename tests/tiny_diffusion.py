"""Build a tiny, random-weight StableDiffusionPipeline from configs (no download), and save it.

The way diffusers tests itself: a small UNet2DConditionModel, AutoencoderKL and CLIPTextModel
made from configs, with a byte-level CLIP tokenizer whose vocabulary this module writes (every
character is a token, so different prompts give different token ids). The defaults render
64x64 images; ``gpu_check`` asks for wider components to give a GPU real work.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import torch

START, END = "<|startoftext|>", "<|endoftext|>"


def byte_alphabet() -> list[str]:
    """The 256 printable characters GPT-2/CLIP byte-level BPE uses for the 256 bytes."""
    printable = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    extra = [b for b in range(256) if b not in printable]
    codes = printable + [256 + i for i in range(len(extra))]
    return [chr(code) for code in codes]


def write_tokenizer_files(folder: Path) -> Path:
    """Write ``vocab.json`` (characters, word-final characters, 2 specials) and ``merges.txt``."""
    folder.mkdir(parents=True, exist_ok=True)
    alphabet = byte_alphabet()
    tokens = [*alphabet, *(char + "</w>" for char in alphabet), START, END]
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(tokens)}))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    return folder


def build_tiny_pipeline(
    unet_channels: tuple[int, ...] = (4, 8),
    vae_channels: tuple[int, ...] = (4, 8),
    text_width: int = 32,
    text_layers: int = 2,
    sample_size: int = 32,
    norm_groups: int = 2,
    seed: int = 0,
):
    """A StableDiffusionPipeline with random weights; images are ``sample_size * 2**(len(vae)-1)``.

    The defaults (a two-block UNet and VAE, a 2-layer text encoder) make 64x64 images.
    """
    from diffusers import (
        AutoencoderKL,
        DDIMScheduler,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    with tempfile.TemporaryDirectory() as scratch:
        folder = write_tokenizer_files(Path(scratch))
        tokenizer = CLIPTokenizer(
            str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=77
        )
    vocab = tokenizer.get_vocab()
    torch.manual_seed(seed)
    blocks = len(unet_channels)
    unet = UNet2DConditionModel(
        block_out_channels=unet_channels,
        layers_per_block=1,
        sample_size=sample_size,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", *["CrossAttnDownBlock2D"] * (blocks - 1)),
        up_block_types=(*["CrossAttnUpBlock2D"] * (blocks - 1), "UpBlock2D"),
        cross_attention_dim=text_width,
        norm_num_groups=norm_groups,
    )
    vae = AutoencoderKL(
        block_out_channels=list(vae_channels),
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D"] * len(vae_channels),
        up_block_types=["UpDecoderBlock2D"] * len(vae_channels),
        latent_channels=4,
        norm_num_groups=norm_groups,
        sample_size=sample_size * 2 ** (len(vae_channels) - 1),
    )
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            bos_token_id=vocab[START],
            eos_token_id=vocab[END],
            pad_token_id=vocab[END],
            hidden_size=text_width,
            intermediate_size=2 * text_width,
            num_attention_heads=4,
            num_hidden_layers=text_layers,
            vocab_size=len(vocab),
            max_position_embeddings=77,
        )
    )
    scheduler = DDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
    )
    pipeline = StableDiffusionPipeline(
        unet=unet,
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


def save_tiny_pipeline(folder: Path, **sizes: int | tuple[int, ...]) -> Path:
    """Build a tiny pipeline (``sizes``: see ``build_tiny_pipeline``) and save it to ``folder``."""
    build_tiny_pipeline(**sizes).save_pretrained(folder)
    return folder
