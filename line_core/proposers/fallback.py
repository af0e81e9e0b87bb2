"""Lexicon fallback around an LLM proposer (what a tiny offline model needs to be useful).

The LLM proposes first. The lexicon takes over, and the proposal says so (``source`` is
"lexicon", the reasoning names the cause), when

- every LLM candidate was a repeat, a near-duplicate or unparsable, or
- the LLM's recent concepts keep scoring poorly: its last ``poor_streak`` proposals in the
  history (since the lexicon last stepped in) all scored below the pool's median (not checked
  for summary requests, whose pool is only the top 3).

After a fallback the LLM gets ``poor_streak`` fresh chances, so a weak model alternates with
the lexicon rather than being switched off for good.
"""

from __future__ import annotations

import statistics
from typing import Any

from line_core.proposers.base import ConceptProposer, Proposal, ProposalRequest
from line_core.proposers.lexicon import LexiconProposer
from line_core.proposers.llm import LLMProposer, LLMSettings

POOR_STREAK = 2


class FallbackProposer:
    """An LLM proposer that falls back to the lexicon on repeats or a poor-scoring streak."""

    def __init__(
        self, llm: LLMProposer, lexicon: LexiconProposer, *, poor_streak: int = POOR_STREAK
    ) -> None:
        self.llm = llm
        self.lexicon = lexicon
        self.poor_streak = poor_streak
        self.name = llm.name

    def __repr__(self) -> str:
        return f"FallbackProposer({self.llm!r}, poor_streak={self.poor_streak})"

    def check_ready(self) -> None:
        """Raise a one-line error now if the LLM cannot answer."""
        self.llm.check_ready()

    def poor_streak_reason(self, request: ProposalRequest) -> str | None:
        """Why the LLM should sit this one out, or None (see the module docstring)."""
        if self.poor_streak <= 0 or len(request.pool) < 2 or request.summary:
            return None  # a summary request shows only the top 3: its median says nothing
        trailing = []
        for entry in reversed(request.history):
            if entry.source.removeprefix("summary-") != "llm":
                break
            trailing.append(entry)
        if len(trailing) < self.poor_streak:
            return None
        median = statistics.median(c.auc for c in request.pool)
        recent = trailing[: self.poor_streak]
        if all(c.auc < median for c in recent):
            scores = ", ".join(f"'{c.concept}' {c.auc:.2f}" for c in reversed(recent))
            return f"the LLM's last {len(recent)} concepts ({scores}) scored below the pool median"
        return None

    def propose(self, request: ProposalRequest) -> Proposal:
        """The LLM's proposal, or a lexicon one tagged with the reason for falling back."""
        reason = self.poor_streak_reason(request)
        if reason is None:
            attempt = self.llm.attempt(request)
            if attempt.proposal is not None:
                return attempt.proposal
            reason = (
                f"all {len(attempt.raw)} LLM samples were repeats or invalid"
                f" ({_summarise(attempt.rejected)})"
            )
            raw, rejected = attempt.raw_text(), list(attempt.rejected)
        else:
            raw, rejected = "", []
        proposal = self.lexicon.propose(request)
        proposal.reasoning = f"lexicon fallback: {reason}. {proposal.reasoning}"
        proposal.raw = raw
        proposal.rejected = rejected + list(proposal.rejected)
        return proposal


def _summarise(rejected: list[str], limit: int = 3) -> str:
    shown = "; ".join(rejected[:limit])
    more = len(rejected) - limit
    return shown + (f"; +{more} more" if more > 0 else "") if rejected else "no answers"


def with_fallback(llm: LLMProposer, *, generator: Any = None, seed: int = 0) -> FallbackProposer:
    """Wrap an LLM proposer with a lexicon proposer built for the same generator and seed."""
    return FallbackProposer(llm, LexiconProposer(generator, seed))


def build_llm_proposer(
    backend: Any,
    settings: LLMSettings,
    *,
    generator: Any = None,
    seed: int = 0,
    fallback: bool = False,
    name: str | None = None,
) -> ConceptProposer:
    """An LLMProposer over ``backend`` (described generator), with the lexicon fallback if asked."""
    description = _describe(generator)
    proposer = LLMProposer(backend, settings, generator_description=description, name=name)
    return with_fallback(proposer, generator=generator, seed=seed) if fallback else proposer


def _describe(generator: Any) -> str:
    try:
        return str(generator.describe()) if generator is not None else ""
    except Exception:  # noqa: BLE001 - a description is optional
        return ""


def repeat_fallback(generator: Any = None, seed: int = 0) -> ConceptProposer:
    """The proposer the loop turns to when another keeps repeating tried concepts."""
    return LexiconProposer(generator, seed)
