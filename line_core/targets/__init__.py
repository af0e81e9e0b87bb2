"""Vision models to explain: the Target type and its registry."""

from line_core.targets.base import TARGETS, Target

__all__ = ["TARGETS", "Target"]
