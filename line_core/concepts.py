"""The ground-floor vocabulary every layer shares: what a concept is, who proposed it, its score.

One definition each, imported everywhere, redefined nowhere:

* :func:`normalise` says when two phrasings are the same concept (repeat detection, bans,
  the forbidden set, de-duplication in views);
* :func:`seed_key` is the text that seeds a concept's images (kept exactly as runs have always
  used it, so old runs reproduce);
* :class:`Source` names who proposed a concept, :func:`source_kind` groups them for display and
  :data:`BASELINE_SOURCES` says which ones measure chance;
* :class:`Score` is one concept's score with the one ranking :attr:`Score.rank_key`;
* :class:`ScoredConcept` is a concept with its score and source.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass

_NON_WORD = re.compile(r"[\W_]+")
_ARTICLES = frozenset({"a", "an", "the"})


def fold_plural(word: str) -> str:
    """Fold a simple English plural to its singular ("stripes" -> "stripe"); idempotent."""
    if len(word) <= 3 or word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("sses"):
        return word[:-2]
    if word.endswith(("ches", "shes", "xes", "zes")):
        return word[:-2]
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s"):
        return word[:-1]
    return word


def normalise(text: str) -> str:
    """Canonical form of a concept ("The Red Stripes!" -> "red stripe"): the one identity."""
    words = _NON_WORD.sub(" ", str(text).lower()).split()
    return " ".join(fold_plural(w) for w in words if w not in _ARTICLES)


def same_concept(a: str, b: str) -> bool:
    """Whether two phrasings name the same concept (equal under :func:`normalise`)."""
    return normalise(a) == normalise(b)


def seed_key(text: str) -> str:
    """The text that seeds a concept's images: lower case, single spaces (never change it)."""
    return " ".join(str(text).lower().split())


def derive_seed(*parts: object) -> int:
    """A stable 31-bit seed from any parts (same parts, same seed, on every machine)."""
    text = "\x1f".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") & 0x7FFFFFFF


def concept_seeds(concept: str, run_seed: int, count: int) -> list[int]:
    """Image seeds for a concept: different per concept, reproducible per (concept, run seed)."""
    key = seed_key(concept)
    return [derive_seed("image", run_seed, key, i) for i in range(count)]


class Source:
    """Who proposed a concept. Values are plain strings, as stored in events.

    A summary proposal is ``summary-`` plus the source that made it (``summary-llm``).
    """

    SEED = "seed"  #: the generator's seed vocabulary (iteration 0)
    CONTROL_CLASS = "control-class"  #: a top class of a labelled control set (iteration 0)
    RANDOM_CLASS = "random-class"  #: a random class of a labelled control set (chance)
    ATLAS = "atlas"  #: a top concept of the layer's concept atlas for this unit (iteration 0)
    RANDOM_ATLAS = "random-atlas"  #: a random other concept of the atlas (chance)
    LLM = "llm"
    LEXICON = "lexicon"
    USER = "user"  #: typed, injected or edited by the researcher
    PROBE = "probe"  #: a driver-separating test the loop made (an attribute dropped/swapped)
    SUMMARY_PREFIX = "summary-"

    @staticmethod
    def summary(source: str) -> str:
        """The source of a summary proposal made by ``source``."""
        prefix = Source.SUMMARY_PREFIX
        return source if source.startswith(prefix) else prefix + source


#: Sources of concepts not chosen for this unit: their scores are the chance baseline.
BASELINE_SOURCES = (Source.SEED, Source.RANDOM_CLASS, Source.RANDOM_ATLAS)


def source_kind(source: str) -> str:
    """The display group of a source: 'summary-llm' -> 'summary', others unchanged."""
    return "summary" if source.startswith("summary") else source


def finite(value: float, default: float = 0.0) -> float:
    """``value`` as a float, or ``default`` when it is NaN or infinite (JSON has no NaN)."""
    value = float(value)
    return value if math.isfinite(value) else default


@dataclass(frozen=True)
class Score:
    """Every score of one concept against the control set (see ``line_core.scoring``)."""

    auc: float
    mad: float = 0.0
    mean_activation: float = 0.0
    u_statistic: float = 0.0
    p_value: float = 1.0
    auc_low: float = 0.0
    auc_high: float = 1.0

    @property
    def rank_key(self) -> tuple[float, float]:
        """The one ranking of concepts: AUC first (rounded against float noise), MAD breaks ties."""
        return (round(self.auc, 9), self.mad)


@dataclass(frozen=True)
class ScoredConcept:
    """A concept with its score and the source that proposed it."""

    concept: str
    score: Score
    source: str = ""

    @classmethod
    def of(cls, concept: str, auc: float, mad: float = 0.0, source: str = "") -> ScoredConcept:
        """Shorthand for a concept known only by AUC and MAD."""
        return cls(concept, Score(auc=auc, mad=mad), source)

    @property
    def auc(self) -> float:
        """The score's AUC."""
        return self.score.auc

    @property
    def mad(self) -> float:
        """The score's MAD."""
        return self.score.mad

    @property
    def rank_key(self) -> tuple[float, float]:
        """The score's ranking key."""
        return self.score.rank_key

    @property
    def mean_activation(self) -> float:
        """Mean activation of the unit on the concept's images."""
        return self.score.mean_activation

    @property
    def p_value(self) -> float:
        """Two-sided Mann-Whitney p-value against the control."""
        return self.score.p_value

    @property
    def auc_low(self) -> float:
        """Lower end of the 90% bootstrap interval of the AUC."""
        return self.score.auc_low

    @property
    def auc_high(self) -> float:
        """Upper end of the 90% bootstrap interval of the AUC."""
        return self.score.auc_high
