"""Turn raw LLM text into a validated (concept, reasoning); never raises on any input.

Accepted shapes, tried in order: a JSON object (bare, inside a fenced ```json block, or with
text around it; a broken object still yields its ``"concept": "..."`` field), ``<concept>``
tags, a ``Concept: x`` line, and finally the first non-empty line (what a few-shot completion
returns). A concept is 1-4 words of letters once quotes, trailing punctuation or scores,
leading articles and "a photo of" are stripped.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

MAX_WORDS = 4
MAX_WORD_LENGTH = 30
_MAX_INPUT = 8_000
_MAX_CANDIDATE = 200

_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)
_TAG = re.compile(r"<\s*concept\s*>(.*?)(?:<\s*/\s*concept\s*>|$)", re.IGNORECASE | re.DOTALL)
_REASON_TAG = re.compile(
    r"<\s*reasoning\s*>(.*?)(?:<\s*/\s*reasoning\s*>|<\s*concept|$)", re.IGNORECASE | re.DOTALL
)
_CONCEPT_LINE = re.compile(
    r"^[ \t*#>-]*(?:new[ \t]+|final[ \t]+)?concept[ \t*]*[:=\-][ \t*]*(.+)$",
    re.IGNORECASE | re.MULTILINE,
)
_REASON_LINE = re.compile(
    r"^[ \t*#>-]*reason(?:ing)?[ \t*]*[:=\-][ \t*]*(.+)$", re.IGNORECASE | re.MULTILINE
)
_QUOTED_FIELD = re.compile(r'"concept"\s*:\s*"((?:[^"\\]|\\.)*)"', re.IGNORECASE)
_QUOTED_REASON = re.compile(r'"reason(?:ing)?"\s*:\s*"((?:[^"\\]|\\.)*)', re.IGNORECASE)
_LEADING = re.compile(
    r"^(?:(?:a|an|the)\s+)?(?:realistic\s+|close[\s-]up\s+)?"
    r"(?:photo|photograph|picture|image|drawing|rendering)\s+of\s+",
    re.IGNORECASE,
)
_ARTICLE = re.compile(r"^(?:a|an|the)\s+", re.IGNORECASE)
_TRAILING_SCORE = re.compile(r"(?:^|[\s:=(\[]+)[-+]?\d*\.?\d+[)\]]?$")
_STRIP_CHARS = " \t\r\n\"'`*_“”‘’«»[](){}<>.,;:!?"
_SPLIT_CLAUSE = re.compile(r"[;\n|]|,\s|\s-\s|\s—\s")
_LABEL_WORDS = frozenset({"concept", "new", "answer", "final", "reasoning", "reason", "json"})
_STOP_WORDS = frozenset(
    "a an the is are was were be been this that these those it its i we you they he she to "
    "what which who how why when where there here do does did not no yes so as at by for from "
    "in into if or but then than about just also very can could would should will may might "
    "my our your their his her has have had".split()
)
_NON_CONCEPTS = frozenset(
    {"none", "null", "nothing", "unknown", "concept", "new concept", "answer", "n/a", "json"}
)
_JOINERS = frozenset({"and", "on", "with", "of"})
_CONCEPT_KEYS = ("concept", "new_concept", "label", "answer")
_REASON_KEYS = ("reasoning", "reason", "explanation", "rationale")


@dataclass(frozen=True)
class ParsedAnswer:
    """Result of parsing: a clean concept (or None), the reasoning found, and any error."""

    concept: str | None
    reasoning: str
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when a valid concept was found."""
        return self.concept is not None


def validate_concept(text: object) -> tuple[str | None, str | None]:
    """Clean a candidate concept; return ``(concept, None)`` or ``(None, error)``."""
    try:
        return _validate(str(text))
    except Exception as exc:  # noqa: BLE001 - parsing must never raise
        return None, f"could not read the concept ({type(exc).__name__})"


def _clean(text: str) -> str:
    text = " ".join(text[:_MAX_INPUT].split())
    for _ in range(3):
        text = text.strip(_STRIP_CHARS)
        text = _TRAILING_SCORE.sub("", text).strip(_STRIP_CHARS)
        text = _LEADING.sub("", text)
        text = _ARTICLE.sub("", text)
    return text.strip(_STRIP_CHARS)


def _validate(text: str) -> tuple[str | None, str | None]:
    if len(text) > _MAX_CANDIDATE:
        return None, f"the concept is {len(text)} characters long; use 1-{MAX_WORDS} words"
    cleaned = _clean(text)
    if not cleaned or cleaned.lower() in {"a", "an", "the"}:
        return None, "the concept is empty"
    if cleaned.lower() in _NON_CONCEPTS:
        return None, f"'{cleaned}' is not a concept"
    words = cleaned.split()
    shown = cleaned if len(cleaned) <= 60 else cleaned[:57] + "..."
    if len(words) > MAX_WORDS:
        return None, f"'{shown}' has {len(words)} words; a concept has 1-{MAX_WORDS} words"
    for word in words:
        parts = word.split("-")
        if not all(part.isalpha() for part in parts):
            return None, f"'{shown}' contains characters other than letters"
        if len(word) > MAX_WORD_LENGTH:
            return None, f"'{shown}' has a word longer than {MAX_WORD_LENGTH} letters"
    lowered = [w.lower() for w in words]
    if len(set(lowered)) < len(lowered):
        return None, f"'{shown}' repeats a word"
    return " ".join(words).lower(), None


def _from_mapping(data: object) -> tuple[str | None, str] | None:
    """(concept text, reasoning) from a decoded JSON object, or None if it has no concept."""
    if not isinstance(data, dict):
        return None
    lowered = {str(k).strip().lower(): v for k, v in data.items()}
    reasoning = next((str(lowered[k]) for k in _REASON_KEYS if k in lowered), "")
    for key in _CONCEPT_KEYS:
        value = lowered.get(key)
        if isinstance(value, str):
            return value, reasoning
        if isinstance(value, list) and value and isinstance(value[0], str):
            return value[0], reasoning
    return None


def _json_objects(text: str) -> list[object]:
    """Every JSON value decodable at a '{' of the text (fenced blocks first)."""
    decoder = json.JSONDecoder()
    sources = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    found: list[object] = []
    for source in sources:
        start = source.find("{")
        while start != -1 and len(found) < 20:
            try:
                value, end = decoder.raw_decode(source, start)
            except (ValueError, RecursionError):
                start = source.find("{", start + 1)
                continue
            found.append(value)
            start = source.find("{", end)
    return found


def _structured(text: str) -> list[tuple[str, str]]:
    """Candidate (concept text, reasoning) pairs from JSON, tags and labelled lines."""
    pairs: list[tuple[str, str]] = []
    for value in _json_objects(text):
        pair = _from_mapping(value)
        if pair is not None:
            pairs.append(pair)
    for match in _QUOTED_FIELD.finditer(text):
        reason = _QUOTED_REASON.search(text)
        pairs.append((_unescape(match.group(1)), _unescape(reason.group(1)) if reason else ""))
    tag_reason = _REASON_TAG.search(text)
    for match in _TAG.finditer(text):
        pairs.append((match.group(1), tag_reason.group(1).strip() if tag_reason else ""))
    line_reason = _REASON_LINE.search(text)
    for match in _CONCEPT_LINE.finditer(text):
        pairs.append((match.group(1), line_reason.group(1).strip() if line_reason else ""))
    return pairs


def _unescape(text: str) -> str:
    try:
        return str(json.loads(f'"{text}"'))
    except ValueError:
        return text


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip(_STRIP_CHARS):
            return _SPLIT_CLAUSE.split(line.strip(), maxsplit=1)[0]
    return ""


def parse_answer(text: object) -> ParsedAnswer:
    """Parse raw model text into a validated concept and its reasoning (never raises)."""
    if text is None:
        return ParsedAnswer(None, "", "the answer is empty")
    try:
        return _parse(str(text)[:_MAX_INPUT])
    except Exception as exc:  # noqa: BLE001 - parsing must never raise
        return ParsedAnswer(None, "", f"unreadable answer ({type(exc).__name__})")


def _parse(text: str) -> ParsedAnswer:
    if not text.strip():
        return ParsedAnswer(None, "", "the answer is empty")
    first_error: str | None = None
    for concept_text, reasoning in _structured(text):
        concept, error = validate_concept(concept_text)
        if concept is not None:
            return ParsedAnswer(concept, reasoning.strip())
        first_error = first_error or error
    if first_error is not None:
        return ParsedAnswer(None, "", first_error)
    concept, error = validate_concept(_first_line(text))
    if concept is not None:
        return ParsedAnswer(concept, "")
    return ParsedAnswer(None, "", f"no concept found: {error}")


def lenient_candidates(text: object, limit: int = 20) -> list[str]:
    """Every valid concept recoverable from messy text, in order of appearance (deduplicated).

    Used as the last resort after a structured answer failed twice: each clause is cut to
    its first words of letters (label words such as "concept" are dropped).
    """
    try:
        found: list[str] = []
        for clause in re.split(r"[\n;,.|:\"'`{}\[\]()<>*#/]+", str(text)[:_MAX_INPUT]):
            words = [w.strip(_STRIP_CHARS + "!?-") for w in clause.split()]
            words = [w for w in words if w.replace("-", "").isalpha()]
            words = [w for w in words if w.lower() not in _LABEL_WORDS]
            while words and words[0].lower() in _STOP_WORDS | _JOINERS:
                words.pop(0)
            words = words[:MAX_WORDS]
            while words and words[-1].lower() in _STOP_WORDS | _JOINERS:
                words.pop()
            if not words or any(w.lower() in _STOP_WORDS for w in words):
                continue
            concept, _ = validate_concept(" ".join(words))
            if concept is not None and concept not in found:
                found.append(concept)
            if len(found) >= limit:
                break
        return found
    except Exception:  # noqa: BLE001 - parsing must never raise
        return []
