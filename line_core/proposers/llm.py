"""The LLM proposer shared by every text backend (local transformers, OpenAI-compatible HTTP).

A backend only turns a prompt into raw texts (``complete`` for few-shot completion prompts,
``chat`` for instruct models). Everything else lives here, once: prompt building, parsing and
validation of each sampled answer, the novelty check, one retry that tells the model what was
wrong, and a last lenient extraction over all raw texts. The raw texts are kept in
``Proposal.raw``; the loop never sees an exception for bad model output.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

from line_core.proposers.base import Proposal, ProposalRequest
from line_core.proposers.novelty import NoveltyChecker
from line_core.proposers.parsing import lenient_candidates, parse_answer
from line_core.proposers.prompting import (
    ANSWER_SCHEMA,
    Message,
    chat_messages,
    completion_prompt,
    ranked_pool,
    retry_messages,
)

log = logging.getLogger(__name__)

Style = Literal["completion", "chat"]
_RAW_LIMIT = 6000


@runtime_checkable
class TextBackend(Protocol):
    """Something that samples raw text from a language model."""

    name: str

    def complete(self, prompt: str, *, n: int, seed: int, sampling: Sampling) -> list[str]:
        """``n`` sampled continuations of a plain-text prompt."""
        ...

    def chat(
        self, messages: Sequence[Message], *, n: int, seed: int, sampling: Sampling
    ) -> list[str]:
        """``n`` sampled assistant answers to a chat (JSON answers requested)."""
        ...


@dataclass(frozen=True)
class Sampling:
    """Decoding settings (the reference's temperature 0.5 and top_p 0.9 by default)."""

    temperature: float = 0.5
    top_p: float = 0.9
    max_new_tokens: int = 8
    schema: dict | None = None
    stop: tuple[str, ...] = ()


@dataclass(frozen=True)
class LLMSettings:
    """How an LLM proposer asks: prompt style, candidates per call, decoding, retry."""

    style: Style = "completion"
    n_candidates: int = 6
    temperature: float = 0.5
    top_p: float = 0.9
    max_new_tokens: int | None = None  # default: 8 (completion) or 160 (chat)
    retry: bool = True
    show_forbidden: bool = True  # list recent tried concepts in completion prompts

    def sampling(self, retry: bool = False) -> Sampling:
        """Decoding settings; a completion retry samples hotter for variety."""
        tokens = self.max_new_tokens or (8 if self.style == "completion" else 160)
        temperature = self.temperature
        if retry and self.style == "completion":
            temperature = min(1.0, temperature + 0.3)
        if self.style == "chat":
            return Sampling(temperature, self.top_p, tokens, ANSWER_SCHEMA)
        return Sampling(temperature, self.top_p, tokens, None, stop=("\n",))


@dataclass
class Attempt:
    """What one proposing round produced: a proposal (or None), rejections, raw texts."""

    proposal: Proposal | None
    rejected: list[str] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)
    first_valid: str | None = None
    repeats: list[str] = field(default_factory=list)
    unparsed: list[str] = field(default_factory=list)

    def raw_text(self) -> str:
        """All raw samples, numbered, bounded in length (for ``Proposal.raw``)."""
        return join_raw(self.raw)


def join_raw(raw: Sequence[str]) -> str:
    """Number raw samples and bound the total length."""
    text = "\n".join(f"[{i + 1}] {r.strip()}" for i, r in enumerate(raw))
    return text if len(text) <= _RAW_LIMIT else text[: _RAW_LIMIT - 3] + "..."


class LLMProposer:
    """A ConceptProposer over any TextBackend, with validation, retry and lenient extraction."""

    def __init__(
        self,
        backend: TextBackend,
        settings: LLMSettings | None = None,
        *,
        generator_description: str = "",
        checker: NoveltyChecker | None = None,
        name: str | None = None,
    ) -> None:
        self.backend = backend
        self.settings = settings or LLMSettings()
        self.generator_description = generator_description
        self.checker = checker or NoveltyChecker()
        self.name = name or backend.name

    def __repr__(self) -> str:
        return f"LLMProposer({self.name!r}, style={self.settings.style!r})"

    def check_ready(self) -> None:
        """Raise a one-line error now if the backend cannot answer (e.g. a server is down)."""
        check = getattr(self.backend, "check_ready", None)
        if callable(check):
            check()

    def propose(self, request: ProposalRequest) -> Proposal:
        """The first valid new concept; if none, the best repeat with every rejection listed.

        A repeat (or an empty concept) tells the loop to ask again or fall back; bad model
        output never raises.
        """
        attempt = self.attempt(request)
        if attempt.proposal is not None:
            return attempt.proposal
        return Proposal(
            concept=attempt.first_valid or "",
            reasoning=(
                f"{self.name} proposed no new concept in {len(attempt.raw)} samples "
                "(repeats or invalid answers)"
            ),
            source="llm",
            raw=attempt.raw_text(),
            rejected=attempt.rejected,
        )

    # -- the rounds ----------------------------------------------------------------------
    def attempt(self, request: ProposalRequest) -> Attempt:
        """Sample, validate, retry once with the error, then extract leniently."""
        description = request.generator_description or self.generator_description
        result = Attempt(None)
        first = self._round(request, description, result, retry=False, error="")
        if first is not None or not self.settings.retry:
            return self._finish(result, first)
        error = result.rejected[-1] if result.rejected else "no answer"
        second = self._round(request, description, result, retry=True, error=error)
        if second is not None:
            return self._finish(result, second)
        return self._finish(result, self._lenient(request, result))

    def _sample(
        self, request: ProposalRequest, description: str, result: Attempt, retry: bool, error: str
    ) -> list[str]:
        settings = self.settings
        sampling = settings.sampling(retry=retry)
        seed = request.seed + (7919 if retry else 0)
        n = settings.n_candidates
        if settings.style == "chat":
            messages = chat_messages(request, description, extra_avoid=result.repeats)
            if retry and result.raw:
                messages = retry_messages(messages, result.raw[-1], error)
            return self.backend.chat(messages, n=n, seed=seed, sampling=sampling)
        prompt = completion_prompt(
            request, description, result.repeats, show_forbidden=settings.show_forbidden
        )
        return self.backend.complete(prompt, n=n, seed=seed, sampling=sampling)

    def _round(
        self, request: ProposalRequest, description: str, result: Attempt, retry: bool, error: str
    ) -> Proposal | None:
        texts = [str(t) for t in self._sample(request, description, result, retry, error)]
        result.raw.extend(texts)
        parsed = [parse_answer(t) for t in texts]
        concepts = [p.concept for p in parsed if p.concept is not None]
        reasons = self.checker.check_many(concepts, request.forbidden)
        verdicts = dict(zip(concepts, reasons, strict=True))
        for index, (text, answer) in enumerate(zip(texts, parsed, strict=True)):
            if answer.concept is None:
                result.rejected.append(f"invalid answer {_short(text)}: {answer.error}")
                result.unparsed.append(text)
                continue
            result.first_valid = result.first_valid or answer.concept
            reason = verdicts.get(answer.concept)
            if reason is not None:
                result.rejected.append(reason)
                result.repeats.append(answer.concept)
                continue
            how = f"{'retry ' if retry else ''}sample {index + 1} of {len(texts)}"
            reasoning = answer.reasoning or self._default_reasoning(request, how)
            return Proposal(answer.concept, reasoning, "llm")
        return None

    def _lenient(self, request: ProposalRequest, result: Attempt) -> Proposal | None:
        candidates: list[str] = []
        for text in result.unparsed:  # answers that parsed to a repeat are not mined
            candidates += [c for c in lenient_candidates(text) if c not in candidates]
        if not candidates:
            return None
        top = [c.concept for c in ranked_pool(request)[:3]]
        if top:  # prefer phrases near the best concepts over stray words
            vectors = self.checker.embedder(candidates + top)
            closeness = (vectors[: len(candidates)] @ vectors[len(candidates) :].T).max(axis=1)
            order = sorted(range(len(candidates)), key=lambda i: -float(closeness[i]))
            candidates = [candidates[i] for i in order]
        for concept, reason in zip(
            candidates, self.checker.check_many(candidates, request.forbidden), strict=True
        ):
            if reason is None:
                log.info("%s: lenient extraction recovered %r", self.name, concept)
                return Proposal(
                    concept,
                    f"recovered by lenient extraction from {self.name}'s unstructured output",
                    "llm",
                )
        return None

    def _finish(self, result: Attempt, proposal: Proposal | None) -> Attempt:
        if proposal is not None:
            proposal.raw = result.raw_text()
            proposal.rejected = list(result.rejected)
        result.proposal = proposal
        return result

    def _default_reasoning(self, request: ProposalRequest, how: str) -> str:
        style = "few-shot completion" if self.settings.style == "completion" else "chat answer"
        kind = f"summary of the top 3 ({style})" if request.summary else style
        pool = ranked_pool(request)
        best = f"'{pool[0].concept}' {pool[0].auc:.2f}" if pool else "none yet"
        return f"{kind} by {self.name} ({how}; pool best: {best})"


def _short(text: str, limit: int = 60) -> str:
    one = " ".join(text.split())
    return repr(one if len(one) <= limit else one[: limit - 3] + "...")
