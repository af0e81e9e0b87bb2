"""Concept proposers: the ConceptProposer protocol, its registry and the shipped backends.

Registered names: ``lexicon`` (non-LLM baseline), ``hf:MODEL`` (any local transformers model),
``smollm2`` / ``gemma3-270m`` (offline presets with the lexicon fallback; ``-raw`` without),
``openai:BASE_URL/MODEL`` (any OpenAI-compatible server). Heavy libraries load on first use.
"""

from line_core.proposers import lexicon, local_llm, openai_http  # noqa: F401 - registration
from line_core.proposers.base import (
    PROPOSERS,
    ConceptProposer,
    Proposal,
    ProposalRequest,
    ScoredConcept,
)
from line_core.proposers.novelty import NoveltyChecker

__all__ = [
    "PROPOSERS",
    "ConceptProposer",
    "NoveltyChecker",
    "Proposal",
    "ProposalRequest",
    "ScoredConcept",
]
