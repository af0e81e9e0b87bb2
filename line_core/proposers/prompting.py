"""Build proposer prompts from the text templates in ``line_core/prompts/``.

Two styles share one request: a few-shot *completion* prompt for small or base models (the
model continues "New concept:"), and *chat* messages asking instruct models for a JSON answer.
Each has a summary variant that shows only the top 3 and asks for one generalising concept.
Templates use ``string.Template`` placeholders (``$pool``), so JSON braces need no escaping.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from importlib.resources import files
from string import Template

from line_core.concepts import normalise
from line_core.proposers.base import ProposalRequest, ScoredConcept

#: How many tried concepts a prompt shows (the full set is enforced in code).
FORBIDDEN_SHOWN = 20
#: Longest generator description put into a completion prompt (small models, short context).
COMPLETION_DESCRIPTION_CHARS = 600

#: JSON schema of a chat answer (object/string/required/additionalProperties only).
ANSWER_SCHEMA: dict = {
    "type": "object",
    "properties": {
        "reasoning": {"type": "string"},
        "concept": {"type": "string"},
    },
    "required": ["reasoning", "concept"],
    "additionalProperties": False,
}

Message = dict[str, str]


@cache
def load_template(name: str) -> Template:
    """The prompt template ``line_core/prompts/NAME.txt``."""
    text = files("line_core").joinpath("prompts", f"{name}.txt").read_text(encoding="utf-8")
    return Template(text)


def ranked_pool(request: ProposalRequest) -> list[ScoredConcept]:
    """The pool best first (top 3 only for a summary request)."""
    pool = sorted(request.pool, key=lambda c: (-c.auc, -c.mad, c.concept))
    return pool[:3] if request.summary else pool


def format_pool_inline(pool: Sequence[ScoredConcept]) -> str:
    """``"a 0.88; b 0.84"`` — the few-shot line format."""
    return "; ".join(f"{_one_line(c.concept)} {c.auc:.2f}" for c in pool)


def format_pool_lines(pool: Sequence[ScoredConcept]) -> str:
    """One ``- concept: 0.88`` line per concept (chat format)."""
    return "\n".join(f"- {_one_line(c.concept)}: {c.auc:.2f}" for c in pool)


def shown_forbidden(
    request: ProposalRequest, limit: int = FORBIDDEN_SHOWN, extra: Iterable[str] = ()
) -> list[str]:
    """A bounded part of the forbidden list: extra rejections, then the most recent tries.

    The pool's own concepts are left out (the prompt already lists them).
    """
    in_pool = {normalise(c.concept) for c in request.pool}
    recent = [normalise(c) for c in extra]
    recent += [normalise(h.concept) for h in reversed(request.history)]
    recent += sorted(request.forbidden)
    shown = [c for c in dict.fromkeys(recent) if c and c not in in_pool]
    return shown[:limit]


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def completion_prompt(
    request: ProposalRequest,
    description: str = "",
    extra_avoid: Iterable[str] = (),
    show_forbidden: bool = True,
) -> str:
    """The few-shot completion prompt; the model's continuation is the new concept.

    The bounded tried list goes into the header, far from the completion point; base models
    that copy whatever they see listed do better without it (``show_forbidden=False``).
    """
    description = _one_line(description)[:COMPLETION_DESCRIPTION_CHARS]
    avoid = shown_forbidden(request, extra=extra_avoid) if show_forbidden else []
    template = load_template("completion_summary" if request.summary else "completion")
    return template.substitute(
        description=f"\n{description}" if description else "",
        avoid=f" Already tried, never repeat: {', '.join(avoid)}." if avoid else "",
        pool=format_pool_inline(ranked_pool(request)),
    ).rstrip()


def chat_messages(
    request: ProposalRequest, description: str = "", extra_avoid: Iterable[str] = ()
) -> list[Message]:
    """System + user messages asking for ``{"reasoning": ..., "concept": ...}``."""
    avoid = shown_forbidden(request, extra=extra_avoid)
    description = _one_line(description)
    user = load_template("chat_summary" if request.summary else "chat_user").substitute(
        description=f"About the images: {description}\n" if description else "",
        pool=format_pool_lines(ranked_pool(request)),
        avoid=", ".join(avoid) if avoid else "(none yet)",
    )
    return [
        {"role": "system", "content": load_template("chat_system").template.strip()},
        {"role": "user", "content": user.strip()},
    ]


def retry_messages(messages: Sequence[Message], answer: str, error: str) -> list[Message]:
    """The conversation plus the rejected answer and a request to answer again."""
    note = load_template("chat_retry").substitute(error=_one_line(error)).strip()
    return [*messages, {"role": "assistant", "content": answer}, {"role": "user", "content": note}]
