"""The ImageGenerator protocol and the generator registry."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from PIL import Image

from line_core.registry import Registry


@runtime_checkable
class ImageGenerator(Protocol):
    """Renders images from a concept text; deterministic for (prompt, seed)."""

    name: str
    #: "procedural" for the offline renderer, "diffusion" for text-to-image models.
    kind: str

    def generate(self, concept: str, seeds: Sequence[int]) -> list[Image.Image]:
        """Return one RGB image per seed for the concept."""
        ...

    def prompt_for(self, concept: str, seed: int) -> str:
        """The exact prompt text used for this concept and seed (logged in the run)."""
        ...

    def describe(self) -> str:
        """One paragraph on what this generator can draw (goes into the proposer prompt)."""
        ...

    def unrendered_words(self, concept: str) -> list[str]:
        """Words of the concept this generator ignores (empty for diffusion models)."""
        ...

    def draws(self, concept: str) -> bool:
        """Whether the generator draws anything of the concept (False: it would draw filler)."""
        ...

    def vocabulary(self) -> list[str]:
        """Concept phrases this generator renders well (for the lexicon proposer); may be empty."""
        ...

    def seed_concepts(self) -> list[str]:
        """A diverse seed vocabulary used for the initial pool when no control classes exist."""
        ...

    def control_prompts(self) -> list[str]:
        """Neutral, diverse prompts for a generator-matched control set."""
        ...


GENERATORS: Registry[ImageGenerator] = Registry("generator")
