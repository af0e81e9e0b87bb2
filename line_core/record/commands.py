"""Typed researcher commands, queued in a run's ``commands.jsonl`` for the loop that runs it.

Any process may post a command (the dashboard, the CLI, a test); only the run's writer applies
it and answers with a ``UserAction`` event carrying the command's id, so each command takes
effect exactly once, also across a resume. Texts and counts are bounded here, at the door,
so a pasted novel or a million concepts is one clear error instead of a stalled run.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar

from line_core.errors import ConfigError

#: Longest concept text accepted anywhere (a concept is a short phrase).
MAX_CONCEPT_CHARS = 200
#: Most concepts one inject command may carry.
MAX_INJECT = 50
#: Most images a re-score may ask for.
MAX_RESCORE_IMAGES = 200


def check_concept(text: str) -> str:
    """A concept stripped of outer space; ConfigError if empty or longer than the limit."""
    concept = " ".join(str(text).split())
    if not concept:
        raise ConfigError("a concept cannot be empty")
    if len(concept) > MAX_CONCEPT_CHARS:
        raise ConfigError(
            f"a concept is a short phrase: {len(concept)} characters given, at most "
            f"{MAX_CONCEPT_CHARS} allowed"
        )
    return concept


def new_command_id() -> str:
    """A unique, time-ordered command id."""
    return f"{time.time():.6f}-{secrets.token_hex(3)}"


@dataclass(frozen=True)
class Command:
    """Base command; ``action`` names the subclass in the JSON line."""

    action: ClassVar[str] = "command"
    id: str = field(default_factory=new_command_id, kw_only=True)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict with an ``action`` key."""
        return {"action": self.action, **asdict(self)}

    def validate(self) -> Command:
        """Check limits; returns self (ConfigError with one line on bad input)."""
        return self


@dataclass(frozen=True)
class Inject(Command):
    """Score these concepts now and offer them to the pool (source ``user``)."""

    action: ClassVar[str] = "inject"
    concepts: tuple[str, ...] = ()

    def validate(self) -> Inject:
        """At least one and at most MAX_INJECT concepts, each a short phrase."""
        if not self.concepts:
            raise ConfigError("inject needs at least one concept")
        if len(self.concepts) > MAX_INJECT:
            raise ConfigError(
                f"{len(self.concepts)} concepts given: inject at most {MAX_INJECT} at a time"
            )
        for concept in self.concepts:
            check_concept(concept)
        return self


@dataclass(frozen=True)
class Edit(Command):
    """Replace a pool concept by the researcher's phrasing (scored as ``user``)."""

    action: ClassVar[str] = "edit"
    concept: str = ""
    new: str = ""

    def validate(self) -> Edit:
        """The new phrasing must be a short phrase."""
        check_concept(self.new)
        return self


@dataclass(frozen=True)
class Ban(Command):
    """Never propose, pool or label this concept again."""

    action: ClassVar[str] = "ban"
    concept: str = ""

    def validate(self) -> Ban:
        """The banned concept must be a short phrase."""
        check_concept(self.concept)
        return self


@dataclass(frozen=True)
class Rescore(Command):
    """Score a concept again on more (fresh) images."""

    action: ClassVar[str] = "rescore"
    concept: str = ""
    n_images: int = 10

    def validate(self) -> Rescore:
        """Between 2 and MAX_RESCORE_IMAGES images of a short phrase."""
        check_concept(self.concept)
        if not 2 <= int(self.n_images) <= MAX_RESCORE_IMAGES:
            raise ConfigError(f"re-score with 2 to {MAX_RESCORE_IMAGES} images")
        return self


@dataclass(frozen=True)
class Stop(Command):
    """Stop the run after the current stage; a resume continues it."""

    action: ClassVar[str] = "stop"


@dataclass(frozen=True)
class Accept(Command):
    """Answer a review: score the proposed concept, or ``concept`` when it was edited."""

    action: ClassVar[str] = "accept"
    concept: str = ""

    def validate(self) -> Accept:
        """An edited concept must be a short phrase (empty: accept as proposed)."""
        if self.concept:
            check_concept(self.concept)
        return self


@dataclass(frozen=True)
class Unknown(Command):
    """A line whose action this version does not know (kept so it is answered once)."""

    action: ClassVar[str] = "unknown"
    name: str = ""


COMMAND_TYPES: dict[str, type[Command]] = {
    cls.action: cls for cls in (Inject, Edit, Ban, Rescore, Stop, Accept)
}


def command_from_dict(data: dict[str, Any]) -> Command:
    """Rebuild a command from its JSON line (unknown actions become :class:`Unknown`)."""
    action = str(data.get("action", ""))
    cls = COMMAND_TYPES.get(action)
    command_id = str(data.get("id") or new_command_id())
    if cls is None:
        return Unknown(id=command_id, name=action)
    names = {f.name for f in fields(cls)} - {"id"}
    payload = {k: v for k, v in data.items() if k in names}
    if "concepts" in payload:
        payload["concepts"] = tuple(str(c) for c in payload["concepts"] or ())
    try:
        return cls(id=command_id, **payload)
    except TypeError:
        return Unknown(id=command_id, name=action)
