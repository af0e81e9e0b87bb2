"""The lexicon proposer: a deterministic, non-LLM baseline (and the LLMs' fallback).

Candidates are the generator's vocabulary, the ImageNet-1k class names, and word-level mutations
of the pool's best concepts (colour/pattern swaps, modifiers, combinations of the top two).
They are ranked by MiniLM similarity to the top concepts weighted by their scores (exploit),
minus a small penalty for resembling poorly scoring concepts; each iteration prefers one kind of
change in turn (colour, pattern, modifier, vocabulary neighbour, combination), and a seeded share
of proposals explores instead. Repeats and near-duplicates are skipped. Vocabulary embeddings
are computed once per process, so a proposal costs milliseconds after the warm-up.
"""

from __future__ import annotations

import random
import statistics
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from line_core.concepts import normalise
from line_core.proposers.base import PROPOSERS, Proposal, ProposalRequest, ScoredConcept
from line_core.proposers.mutations import Mutation, generalisations, mutate
from line_core.proposers.novelty import NoveltyChecker
from line_core.proposers.parsing import validate_concept
from line_core.proposers.wordlists import imagenet_class_names

#: Share of proposals that explore (a seeded random renderable phrase) instead of exploiting.
EXPLORE_SHARE = 0.15
#: Below this best AUC the pool carries little signal: explore more (a sparse unit's seeds
#: may all score at chance, and refining noise finds nothing).
FLAT_AUC = 0.75
FLAT_MAD = 1.0
#: From this AUC on, the signal counts as clear whatever the MAD.
CLEAR_AUC = 0.9
FLAT_EXPLORE = 0.5

#: Ranking scores are rounded to this many decimals before sorting (see _exploit).
RANK_DECIMALS = 5

def _flat(pool: Sequence[ScoredConcept]) -> bool:
    """Whether the best concept barely separates from the control (AUC or MAD low)."""
    if not pool:
        return False
    best = pool[0]
    return best.auc < FLAT_AUC or (best.auc < CLEAR_AUC and best.mad < FLAT_MAD)
#: Weight of the penalty for resembling concepts that scored below the pool's median.
BAD_PENALTY = 0.25
_CHUNK = 24


#: Kinds of change tried in turn, one per iteration (colour twice: it is the cheapest to vary).
SCHEDULE = ("colour", "pattern", "modifier", "colour", "vocabulary", "combination")


def _kind(candidate: _Candidate) -> str:
    """What kind of change a candidate is: colour, pattern, modifier, combination, vocabulary."""
    if candidate.mutation is None:
        return "vocabulary"
    change = candidate.mutation.change
    if change.startswith("combined"):
        return "combination"
    if "colour" in change:
        return "colour"
    if change.startswith("pattern swap"):
        return "pattern"
    return "modifier"


@dataclass(frozen=True)
class _Candidate:
    concept: str
    key: str
    origin: str  # "vocabulary", "imagenet" or "mutation"
    mutation: Mutation | None = None


def _embed(texts: Sequence[str]) -> np.ndarray:
    from line_core.embeddings import embed

    return embed(texts)


Embedder = Callable[[Sequence[str]], np.ndarray]


class _BaseVocabulary:
    """Vocabulary + ImageNet phrases with their (normalised-text) embeddings, built once."""

    _shared: dict[tuple, tuple[list[_Candidate], np.ndarray]] = {}
    _lock = threading.Lock()

    @classmethod
    def build(
        cls, vocabulary: Sequence[str], use_imagenet: bool, embedder: Embedder
    ) -> tuple[list[_Candidate], np.ndarray]:
        phrases = [(p, "vocabulary") for p in vocabulary]
        if use_imagenet:
            phrases += [(p, "imagenet") for p in imagenet_class_names()]
        key = (id(embedder), *(f"{o}:{p}" for p, o in phrases))
        with cls._lock:
            if key not in cls._shared:
                candidates: dict[str, _Candidate] = {}
                for phrase, origin in phrases:
                    concept, _ = validate_concept(phrase)
                    if concept is not None and normalise(concept) not in candidates:
                        candidates[normalise(concept)] = _Candidate(
                            concept, normalise(concept), origin
                        )
                items = list(candidates.values())
                cls._shared[key] = (items, embedder([c.key for c in items]))
            return cls._shared[key]


class LexiconProposer:
    """Deterministic concept proposals from a vocabulary and mutations of the best concepts."""

    def __init__(
        self,
        generator: Any = None,
        seed: int = 0,
        *,
        explore: float = EXPLORE_SHARE,
        top_k: int = 3,
        use_imagenet: bool = True,
        vocabulary: Sequence[str] | None = None,
        checker: NoveltyChecker | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        self.name = "lexicon"
        self.seed = seed
        self.explore = explore
        self.top_k = top_k
        self.use_imagenet = use_imagenet
        self.embed = embedder or _embed
        self.checker = checker or NoveltyChecker(embedder=self.embed)
        self._vocabulary = list(vocabulary) if vocabulary is not None else _vocabulary_of(generator)
        self._base: tuple[list[_Candidate], np.ndarray] | None = None

    def __repr__(self) -> str:
        return f"LexiconProposer(seed={self.seed}, explore={self.explore})"

    def warm_up(self) -> None:
        """Embed the vocabulary now (a few seconds once per process) rather than on first use."""
        self._candidates()

    def _candidates(self) -> tuple[list[_Candidate], np.ndarray]:
        if self._base is None:
            self._base = _BaseVocabulary.build(self._vocabulary, self.use_imagenet, self.embed)
        return self._base

    # -- proposing -----------------------------------------------------------------------
    def propose(self, request: ProposalRequest) -> Proposal:
        """The best-ranked new candidate (or, for a seeded share, an exploratory one)."""
        pool = sorted(request.pool, key=lambda c: (-c.auc, -c.mad, c.concept))
        rng = random.Random(f"lexicon:{self.seed}:{request.seed}:{request.iteration}")
        share = max(self.explore, FLAT_EXPLORE) if _flat(pool) else self.explore
        exploring = rng.random() < share and not request.summary  # a summary generalises
        if pool and not exploring:
            proposal = self._exploit(request, pool)
            if proposal is not None:
                return proposal
        proposal = self._explore(request, rng, pool)
        if proposal is not None:
            return proposal
        return Proposal("", "lexicon exhausted: every candidate was tried", "lexicon")

    def _exploit(self, request: ProposalRequest, pool: list[ScoredConcept]) -> Proposal | None:
        base, base_vectors = self._candidates()
        top = pool[:3] if request.summary else pool[: self.top_k]
        if request.summary:
            extra = generalisations([c.concept for c in top])
        else:
            extra = mutate([c.concept for c in top])
        forbidden = {normalise(f) for f in request.forbidden} | {normalise(c.concept) for c in pool}
        mutations = self._mutation_candidates(extra, forbidden)
        known = {c.key for c in mutations}
        base_rows = [i for i, c in enumerate(base) if c.key not in forbidden and c.key not in known]
        candidates = mutations + [base[i] for i in base_rows]
        if not candidates:
            return None
        vectors = np.concatenate(
            [self.embed([c.key for c in mutations]), base_vectors[base_rows]], axis=0
        )
        top_vectors = self.embed([normalise(c.concept) for c in top])
        sims = vectors @ top_vectors.T
        if request.summary:
            scores = sims.min(axis=1)
        else:
            scores = sims @ _weights(top, pool) - BAD_PENALTY * self._bad_similarity(
                request, pool, vectors
            )
        # rounded: float noise (another thread count, another machine, a Ray worker) never
        # reorders near-ties, so the same history gets the same proposal everywhere
        scores = np.round(scores, RANK_DECIMALS)
        order = [int(i) for i in np.argsort(-scores, kind="stable")]
        if not request.summary:  # rotate the kind of change so the search covers every axis
            wanted = SCHEDULE[request.iteration % len(SCHEDULE)]
            preferred = [i for i in order if _kind(candidates[i]) == wanted]
            if wanted == "pattern" and preferred and request.history:
                # patterns of the best concept, least like anything tried first: the pattern
                # axis is searched broadly instead of stepping to the nearest neighbour
                tried = self.embed(sorted({normalise(c.concept) for c in request.history}))
                nearest = np.round((vectors[preferred] @ tried.T).max(axis=1), RANK_DECIMALS)
                preferred = [preferred[j] for j in np.argsort(nearest, kind="stable")]
            found = self._first_new(preferred, candidates, scores, request, top)
            if found is not None:
                return found
        return self._first_new(order, candidates, scores, request, top)

    def _first_new(
        self,
        order: Sequence[int],
        candidates: Sequence[_Candidate],
        scores: np.ndarray,
        request: ProposalRequest,
        top: list[ScoredConcept],
    ) -> Proposal | None:
        """The first candidate in ``order`` that is neither tried nor a near-duplicate."""
        for start in range(0, min(len(order), 20 * _CHUNK), _CHUNK):
            rows = order[start : start + _CHUNK]
            chunk = [candidates[i] for i in rows]
            reasons = self.checker.check_many([c.key for c in chunk], request.forbidden)
            for index, candidate, reason in zip(rows, chunk, reasons, strict=True):
                if reason is None:
                    return self._proposal(candidate, float(scores[index]), top, request.summary)
        return None

    def _mutation_candidates(self, mutations: list[Mutation], forbidden: set[str]) -> list:
        out: dict[str, _Candidate] = {}
        for mutation in mutations:
            concept, _ = validate_concept(mutation.concept)
            if concept is None:
                continue
            key = normalise(concept)
            if key and key not in forbidden and key not in out:
                out[key] = _Candidate(concept, key, "mutation", mutation)
        return list(out.values())

    def _bad_similarity(
        self, request: ProposalRequest, pool: list[ScoredConcept], vectors: np.ndarray
    ) -> np.ndarray:
        if len(pool) < 2:
            return np.zeros(len(vectors))
        median = statistics.median(c.auc for c in pool)
        bad = {normalise(c.concept) for c in [*pool, *request.history] if c.auc < median}
        bad.discard("")
        if not bad:
            return np.zeros(len(vectors))
        return np.maximum((vectors @ self.embed(sorted(bad)).T).max(axis=1), 0.0)

    def _explore(
        self, request: ProposalRequest, rng: random.Random, pool: list[ScoredConcept]
    ) -> Proposal | None:
        base, _ = self._candidates()
        renderable = [c for c in base if c.origin == "vocabulary"] or base
        forbidden = {normalise(f) for f in request.forbidden} | {normalise(c.concept) for c in pool}
        fresh = [c for c in renderable if c.key not in forbidden]
        rng.shuffle(fresh)
        for start in range(0, min(len(fresh), 10 * _CHUNK), _CHUNK):
            chunk = fresh[start : start + _CHUNK]
            reasons = self.checker.check_many([c.key for c in chunk], request.forbidden)
            for candidate, reason in zip(chunk, reasons, strict=True):
                if reason is None:
                    source = _origin_label(candidate.origin)
                    if not pool:
                        why = "the pool is empty"
                    elif _flat(pool):
                        why = (
                            f"scores are flat (best AUC {pool[0].auc:.2f}, MAD {pool[0].mad:.2f})"
                            ": exploring"
                        )
                    else:
                        why = f"seeded exploration ({self.explore:.0%} of proposals)"
                    return Proposal(
                        candidate.concept,
                        f"{why}: random {source} '{candidate.concept}'",
                        "lexicon",
                    )
        return None

    def _proposal(
        self, candidate: _Candidate, score: float, top: list[ScoredConcept], summary: bool
    ) -> Proposal:
        tops = ", ".join(f"'{c.concept}' {c.auc:.2f}" for c in top)
        measure = "min similarity to the top 3" if summary else "score-weighted similarity"
        if candidate.mutation is not None:
            m = candidate.mutation
            parent_score = next((c.auc for c in top if c.concept == m.parent), None)
            parent = f"'{m.parent}'"
            if parent_score is not None:
                parent += f" ({parent_score:.2f})"
            kind = "generalisation of" if summary else "mutation of"
            why = f"{kind} {parent}: {m.change}"
        else:
            why = f"{_origin_label(candidate.origin)} phrase closest to the top concepts ({tops})"
        return Proposal(candidate.concept, f"{why}; {measure} {score:.2f}", "lexicon")


def _origin_label(origin: str) -> str:
    return "generator vocabulary" if origin == "vocabulary" else "ImageNet class"


def _weights(top: list[ScoredConcept], pool: list[ScoredConcept]) -> np.ndarray:
    """Score weights of the top concepts: their AUC above the pool's median (at least 0.01)."""
    floor = statistics.median(c.auc for c in pool) if len(pool) >= 2 else 0.0
    weights = np.array([max(c.auc - floor, 0.01) for c in top], dtype=np.float32)
    return weights / weights.sum()


def _vocabulary_of(generator: Any) -> list[str]:
    """The generator's renderable phrases (empty when it has none or fails)."""
    if generator is None or not hasattr(generator, "vocabulary"):
        return []
    try:
        return [str(p) for p in generator.vocabulary()]
    except Exception:  # noqa: BLE001 - a generator without a usable vocabulary is fine
        return []


@PROPOSERS.register("lexicon", "deterministic non-LLM baseline: vocabulary + mutations of the best")
def make_lexicon(
    generator: Any = None,
    seed: int = 0,
    explore: float = EXPLORE_SHARE,
    use_imagenet: bool = True,
    **_: Any,
) -> LexiconProposer:
    """Build the lexicon proposer (options: generator, seed, explore, use_imagenet)."""
    return LexiconProposer(generator, seed, explore=float(explore), use_imagenet=use_imagenet)
