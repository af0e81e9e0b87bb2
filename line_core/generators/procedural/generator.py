"""The ProceduralGenerator class and its registration as the ``procedural`` generator."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from PIL import Image

from line_core.errors import ConfigError
from line_core.generators.base import GENERATORS
from line_core.generators.procedural import catalogue
from line_core.generators.procedural.parser import parse
from line_core.generators.procedural.renderer import render
from line_core.generators.procedural.scene import SceneSpec


class ProceduralGenerator:
    """An offline procedural renderer of colours, patterns and shapes (NOT a photo generator).

    It parses the concept text into a scene (background fill, optional pattern overlay,
    optional shapes) and draws it with numpy and PIL. Each seed varies position, scale,
    rotation and a small HSV palette jitter; output is deterministic for (concept, seed).
    Text it cannot draw still renders (a noise texture coloured from the text) and its
    words are reported by :meth:`unrendered_words`.
    """

    name = "procedural"
    kind = "procedural"

    def __init__(self, size: int = 224) -> None:
        if not isinstance(size, int) or not 16 <= size <= 4096:
            raise ConfigError(f"procedural image size must be an integer in 16..4096, got {size!r}")
        self.size = size

    def scene(self, concept: str) -> SceneSpec:
        """The parsed scene for a concept (cached)."""
        return parse(str(concept))

    def render(self, concept: str, seed: int) -> Image.Image:
        """One RGB image of ``size`` x ``size`` for a concept and seed."""
        return render(self.scene(concept), str(concept), seed, self.size)

    def generate(self, concept: str, seeds: Sequence[int]) -> list[Image.Image]:
        """Return one RGB image per seed for the concept."""
        return [self.render(concept, seed) for seed in seeds]

    def prompt_for(self, concept: str, seed: int) -> str:
        """The exact text rendered: the concept itself (the seed only varies the layout)."""
        return str(concept)

    def fingerprint(self) -> str:
        """A hash of a probe render: changes whenever the drawing code changes what it draws."""
        probe = self.generate("small red stars on vertical blue and white stripes", [7, 8])
        digest = hashlib.sha256()
        for image in probe:
            digest.update(image.tobytes())
        return digest.hexdigest()[:16]

    def describe(self) -> str:
        """One paragraph on what this renderer can draw (goes into the proposer prompt)."""
        return catalogue.describe()

    def unrendered_words(self, concept: str) -> list[str]:
        """Words of the concept the renderer could not draw (stop words excluded)."""
        return list(self.scene(concept).unrendered)

    def draws(self, concept: str) -> bool:
        """False when no word of the concept is drawable (the renderer then draws a texture)."""
        return not self.scene(concept).fallback

    def vocabulary(self) -> list[str]:
        """A few hundred concept phrases this renderer draws well."""
        return catalogue.vocabulary()

    def seed_concepts(self) -> list[str]:
        """About 30 diverse concepts for the initial pool."""
        return catalogue.seed_concepts()

    def control_prompts(self) -> list[str]:
        """About 60 diverse prompts for a generator-matched control set."""
        return catalogue.control_prompts()


@GENERATORS.register(
    "procedural",
    "offline procedural renderer of colours, patterns and shapes (not a photo generator)",
)
def make_procedural(size: int = 224, **_: object) -> ProceduralGenerator:
    """Build the offline procedural generator (``size`` x ``size`` RGB images)."""
    return ProceduralGenerator(size=size)
