"""The ConceptProposer protocol, its request/response types and the proposer registry."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from line_core.concepts import ScoredConcept
from line_core.registry import Registry


@dataclass
class ProposalRequest:
    """Everything a proposer may use to propose the next concept.

    ``pool`` is sorted best first. ``forbidden`` holds the normalised text of every concept
    tried or banned (enforced in code); a prompt shows only a bounded part of it.
    ``summary`` asks for one generalising concept from the top 3 (the reference's last step).
    """

    pool: list[ScoredConcept]
    forbidden: set[str]
    iteration: int
    seed: int
    generator_description: str = ""
    summary: bool = False
    history: list[ScoredConcept] = field(default_factory=list)


@dataclass
class Proposal:
    """A proposed concept with the reasoning kept and its honest source."""

    concept: str
    reasoning: str
    source: str  # "llm", "lexicon", "user", ...
    raw: str = ""
    rejected: list[str] = field(default_factory=list)


@runtime_checkable
class ConceptProposer(Protocol):
    """Proposes one concept per call, new unless it could find none.

    A proposer that found nothing new (every sample a repeat or unparsable) returns its best
    attempt with ``rejected`` listing what it threw away, never an exception. Callers check
    novelty against the forbidden set themselves: the engine re-asks, then falls back.
    """

    name: str

    def propose(self, request: ProposalRequest) -> Proposal:
        """Return the next concept to try."""
        ...


PROPOSERS: Registry[ConceptProposer] = Registry("proposer")
