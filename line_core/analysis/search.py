"""Search over everything tried: which units respond to a concept, across runs and layers.

The index holds every concept each run scored (its latest score in that run), not only the
labels. A query matches a concept when its words occur in the concept's text (plurals folded:
"stripes" finds "vertical stripe" and "striped shirt") or, with an embedder, when the two
texts are near-synonyms (cosine of MiniLM embeddings at or above a threshold: "stripes" finds
"bands"). Units are ranked by their best score on a matching concept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from line_core.analysis.embedding import Embedder, embed_texts
from line_core.analysis.units import UnitKey, UnitRun
from line_core.concepts import Score, normalise

#: Cosine (MiniLM) at or above which a concept counts as a near-synonym of the query:
#: "stripes"~"bands" 0.55, ~"zebra" 0.45, ~"polka dots" 0.43 (measured).
SYNONYM_THRESHOLD = 0.5

_QUESTION = re.compile(
    r"^\s*(which|what|find|show)?\s*(me\s+)?(the\s+)?(units?|neurons?|features?)?\s*"
    r"(that\s+|which\s+)?(respond|responds|fire|fires|react|reacts|detect|detects|like|likes|"
    r"prefer|prefers|encode|encodes)?\s*(to|for|on)?\s+",
    re.IGNORECASE,
)


def query_text(question: str) -> str:
    """The concept a search asks about ("Which units respond to stripes?" -> "stripes")."""
    text = question.strip().rstrip("?!. ").strip()
    stripped = _QUESTION.sub("", text, count=1).strip()
    return stripped or text


@dataclass(frozen=True)
class ConceptEntry:
    """One concept one run scored (its latest score in that run)."""

    unit: UnitKey
    run_key: str
    concept: str
    score: Score
    source: str
    status: str  #: the run's status word
    created: str  #: the run's creation time (ISO 8601)
    banned: bool = False


@dataclass
class SearchIndex:
    """Every concept of every run, with the distinct texts they share (embedded on demand)."""

    entries: list[ConceptEntry]
    texts: list[str]  #: distinct concept texts
    text_of: np.ndarray  #: entry i's text is ``texts[text_of[i]]``
    _normalised: list[str] = field(default_factory=list)
    _vectors: np.ndarray | None = None

    def normalised(self) -> list[str]:
        """Each distinct text in canonical form (plurals folded, articles dropped)."""
        if not self._normalised:
            self._normalised = [normalise(t) for t in self.texts]
        return self._normalised

    def vectors(self, embedder: Embedder | None) -> np.ndarray:
        """Unit-length embeddings of the distinct texts (computed once per index)."""
        if self._vectors is None:
            self._vectors = embed_texts(self.texts, embedder)
        return self._vectors


def build_index(runs: Iterable[UnitRun]) -> SearchIndex:
    """Index every concept of every run (each run's latest score of each concept)."""
    entries = []
    for run in runs:
        hist = run.history
        for record in hist.unique_records():
            entries.append(ConceptEntry(
                unit=run.unit, run_key=run.key, concept=record.concept, score=record.score,
                source=record.source, status=run.status, created=run.created,
                banned=hist.is_banned(record.concept),
            ))
    position: dict[str, int] = {}
    text_of = np.asarray([position.setdefault(e.concept, len(position)) for e in entries],
                         dtype=np.int64)
    return SearchIndex(entries, list(position), text_of)


@dataclass(frozen=True)
class Filters:
    """What a search is limited to; empty collections and None mean "any"."""

    models: frozenset[str] = frozenset()
    layers: frozenset[str] = frozenset()
    statuses: frozenset[str] = frozenset()
    since: str | None = None  #: ISO date 'YYYY-MM-DD', inclusive
    until: str | None = None  #: ISO date 'YYYY-MM-DD', inclusive

    def admits(self, entry: ConceptEntry) -> bool:
        """Whether an entry's run passes every filter."""
        day = entry.created[:10]
        return (
            (not self.models or entry.unit.model in self.models)
            and (not self.layers or entry.unit.layer in self.layers)
            and (not self.statuses or entry.status in self.statuses)
            and (self.since is None or day >= self.since)
            and (self.until is None or day <= self.until)
        )


def matching_texts(
    index: SearchIndex,
    query: str,
    embedder: Embedder | None = None,
    threshold: float = SYNONYM_THRESHOLD,
    synonyms: bool = True,
) -> dict[int, float]:
    """Indices of the distinct texts the query matches, with their similarity to it.

    A word match counts 1.0; a near-synonym its cosine. ``synonyms=False`` skips embedding.
    """
    words = normalise(query).split()
    if not words or not index.texts:
        return {}
    found = {
        i: 1.0 for i, text in enumerate(index.normalised()) if all(w in text for w in words)
    }
    if synonyms:
        vectors = index.vectors(embedder)
        probe = embed_texts([query.strip()], embedder)[0]
        for i in np.flatnonzero(vectors @ probe >= threshold):
            found.setdefault(int(i), float(np.clip(vectors[i] @ probe, -1.0, 1.0)))
    return found


@dataclass(frozen=True)
class UnitHit:
    """A unit that responds to the searched concept: its best matching concept and score."""

    unit: UnitKey
    concept: str  #: its best-scoring matching concept
    score: Score
    similarity: float  #: 1.0 for a word match, else the concept's cosine to the query
    run_key: str  #: the run that scored it
    runs: int  #: how many of the unit's runs tried a matching concept
    matches: tuple[str, ...]  #: every matching concept it was tried on, best first


def search_units(
    index: SearchIndex,
    question: str,
    filters: Filters = Filters(),
    embedder: Embedder | None = None,
    threshold: float = SYNONYM_THRESHOLD,
    synonyms: bool = True,
    limit: int | None = None,
) -> list[UnitHit]:
    """Units ranked by their best score on concepts matching the question, best first."""
    query = query_text(question)
    similar = matching_texts(index, query, embedder, threshold, synonyms)
    by_unit: dict[UnitKey, list[tuple[ConceptEntry, float]]] = {}
    for i, entry in enumerate(index.entries):
        text = int(index.text_of[i])
        if text in similar and filters.admits(entry):
            by_unit.setdefault(entry.unit, []).append((entry, similar[text]))
    hits = []
    for unit, pairs in by_unit.items():
        pairs.sort(key=lambda pair: pair[0].score.rank_key, reverse=True)
        top, similarity = pairs[0]
        entries = [entry for entry, _ in pairs]
        hits.append(UnitHit(
            unit=unit, concept=top.concept, score=top.score,
            similarity=similarity, run_key=top.run_key,
            runs=len({e.run_key for e in entries}),
            matches=tuple(dict.fromkeys(e.concept for e in entries)),
        ))
    hits.sort(key=lambda h: (h.score.rank_key, h.similarity), reverse=True)
    return hits[:limit] if limit else hits


def concept_hits(
    index: SearchIndex,
    question: str,
    filters: Filters = Filters(),
    embedder: Embedder | None = None,
    threshold: float = SYNONYM_THRESHOLD,
    synonyms: bool = True,
) -> list[tuple[ConceptEntry, float]]:
    """Every (run, concept) matching the question with its similarity, best score first."""
    similar = matching_texts(index, query_text(question), embedder, threshold, synonyms)
    found = [
        (entry, similar[int(index.text_of[i])]) for i, entry in enumerate(index.entries)
        if int(index.text_of[i]) in similar and filters.admits(entry)
    ]
    return sorted(found, key=lambda pair: pair[0].score.rank_key, reverse=True)

