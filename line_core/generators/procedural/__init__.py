"""Offline procedural text-to-image renderer: colours, patterns and shapes from concept text."""

from line_core.generators.procedural.colours import COLOURS
from line_core.generators.procedural.generator import ProceduralGenerator, make_procedural
from line_core.generators.procedural.parser import parse
from line_core.generators.procedural.patterns import PATTERNS
from line_core.generators.procedural.shapes import OUTLINES

__all__ = ["COLOURS", "OUTLINES", "PATTERNS", "ProceduralGenerator", "make_procedural", "parse"]
