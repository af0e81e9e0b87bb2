"""The loop's state in one object: scores, pool, forbidden and banned concepts, answered commands.

Only the loop changes it, through the methods below (steering asks for changes with requests,
see ``line_core.engine.steering``). A resumed run rebuilds it from the run's history, so the
record stays the one source of truth.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from line_core.concepts import ScoredConcept, Source, normalise
from line_core.engine.pool import sort_pool
from line_core.record.history import RunHistory, best_of


@dataclass
class LoopState:
    """What the loop knows between events."""

    scores: dict[str, ScoredConcept] = field(default_factory=dict)
    pool: list[ScoredConcept] = field(default_factory=list)
    forbidden: set[str] = field(default_factory=set)
    banned: set[str] = field(default_factory=set)
    handled: set[str] = field(default_factory=set)
    probe_iterations: set[int] = field(default_factory=set)
    stopped: bool = False

    @classmethod
    def from_history(cls, history: RunHistory) -> LoopState:
        """The state after the history's last completed iteration (later events are void)."""
        state = cls()
        done = history.last_completed_iteration
        for record in history.records:
            if record.iteration <= done:
                state.remember(record)
        for proposal in history.proposals:
            if proposal.iteration <= done:
                state.forbid(proposal.concept)
                if proposal.source == Source.PROBE:
                    state.probe_iterations.add(proposal.iteration)
        for action in history.actions:
            if action.action == "stop" and action.command_id:
                state.handled.add(action.command_id)  # a stop is answered once, even mid-way
            if action.iteration > done:
                continue
            if action.command_id:
                state.handled.add(action.command_id)
            if action.action == "ban":
                state.banned.add(normalise(action.concept))
                state.forbid(action.concept)
        if done in history.pools:
            state.pool = sort_pool(
                [state.scores[c] for c in history.pools[done] if c in state.scores]
            )
        return state

    # -- concepts ---------------------------------------------------------------------------
    def remember(self, scored: ScoredConcept) -> ScoredConcept:
        """Record a concept's latest score (its first source is kept) and forbid repeating it."""
        earlier = self.scores.get(scored.concept)
        if earlier is not None and earlier.source and earlier.source != scored.source:
            scored = replace(scored, source=earlier.source)
        self.scores[scored.concept] = scored
        self.forbid(scored.concept)
        return scored

    def forbid(self, concept: str) -> None:
        """Never propose this concept again."""
        self.forbidden.add(normalise(concept))

    def is_new(self, concept: str) -> bool:
        """Whether a concept is non-empty and neither tried nor banned."""
        key = normalise(concept)
        return bool(key) and key not in self.forbidden

    def is_banned(self, concept: str) -> bool:
        """Whether the researcher banned this concept."""
        return normalise(concept) in self.banned

    def source_of(self, concept: str, default: str = "") -> str:
        """Who first proposed a concept."""
        scored = self.scores.get(concept)
        return scored.source if scored and scored.source else default

    def best(self) -> ScoredConcept | None:
        """The best concept tried so far, banned ones excluded (the run's label)."""
        return best_of(self.scores.values(), self.banned)

    # -- researcher requests ----------------------------------------------------------------
    def ban(self, concept: str) -> bool:
        """Ban a concept; returns whether it left the pool."""
        self.banned.add(normalise(concept))
        self.forbid(concept)
        return self.drop_from_pool(concept)

    def drop_from_pool(self, concept: str) -> bool:
        """Remove a concept from the pool; returns whether it was there."""
        kept = [e for e in self.pool if e.concept != concept]
        dropped = len(kept) != len(self.pool)
        self.pool = sort_pool(kept)
        return dropped

    def refresh_in_pool(self, scored: ScoredConcept) -> bool:
        """Replace a pool concept's score by a new one; returns whether it was in the pool."""
        if not any(e.concept == scored.concept for e in self.pool):
            return False
        self.pool = sort_pool([scored if e.concept == scored.concept else e for e in self.pool])
        return True
