"""Concept proposers: the ConceptProposer protocol and its registry."""

from line_core.proposers.base import (
    PROPOSERS,
    ConceptProposer,
    Proposal,
    ProposalRequest,
    ScoredConcept,
)

__all__ = ["PROPOSERS", "ConceptProposer", "Proposal", "ProposalRequest", "ScoredConcept"]
