"""Prompt text for diffusion models: the seeded LINE template and neutral concept lists."""

from __future__ import annotations

import random

from line_core.generators.diffusion.config import DiffusionConfig


def build_prompt(config: DiffusionConfig, concept: str, seed: int) -> str:
    """The prompt for one image: the template, plus a framing and lighting chosen by the seed.

    The choice depends only on the seed (``random.Random(seed)``), so every image's prompt is
    reproducible on its own and the same seed frames every concept the same way.
    """
    text = config.prompt_template.format(concept=" ".join(concept.split()))
    if not config.vary_prompt:
        return text
    rng = random.Random(seed)
    extras = [rng.choice(options) for options in (config.framings, config.lightings) if options]
    return ", ".join([text, *extras])


def describe_model(label: str) -> str:
    """The capability paragraph a proposer sees for a text-to-image diffusion model."""
    return (
        f"a text-to-image diffusion model ({label}): photorealistic images of everyday objects, "
        "scenes, animals, plants, food, vehicles, people, places, materials and textures from a "
        "short English description. It renders colour, texture, shape, style and context well; "
        "exact counts, written text and precise spatial relations poorly."
    )


SEED_CONCEPTS: tuple[str, ...] = (
    "dog", "cat", "bird", "horse", "fish", "butterfly", "tree", "flower", "mushroom",
    "mountain", "beach", "forest", "city street", "kitchen", "bridge", "car", "bicycle",
    "airplane", "boat", "pizza", "fruit", "chair", "clock", "guitar", "book", "shoe",
    "person", "water", "fire", "striped fabric", "brick wall", "snow",
)  # fmt: skip

CONTROL_PROMPTS: tuple[str, ...] = (
    "kitchen counter with a fruit bowl", "living room with a sofa", "city street at noon",
    "country road between fields", "park bench under trees", "office desk with a laptop",
    "supermarket aisle", "train station platform", "beach with small waves", "snowy hillside",
    "forest path", "mountain lake", "river with stones", "garden with flower beds",
    "parking lot", "bookshelf full of books", "bedroom with a made bed", "bathroom sink",
    "dining table set for dinner", "cafe terrace", "classroom with desks", "farm with a barn",
    "harbour with boats", "bicycle leaning on a wall", "red car parked on a street",
    "bus at a bus stop", "wooden fence", "stone wall", "tiled floor", "pile of autumn leaves",
    "cup of coffee on a table", "plate of pasta", "loaf of bread", "basket of vegetables",
    "pair of sneakers", "backpack on a chair", "umbrella in the rain", "desk lamp",
    "potted plant on a windowsill", "wall clock", "dog on a lawn", "cat on a sofa",
    "pigeons on a square", "horse in a meadow", "cows in a field", "ducks on a pond",
    "person walking a dog", "children playing in a park", "crowd at a market",
    "man reading a newspaper", "woman riding a bicycle", "construction site", "old church",
    "suburban house", "skyscrapers", "highway with traffic", "playground",
    "tennis court", "sunset over a field", "cloudy sky over rooftops",
)  # fmt: skip
