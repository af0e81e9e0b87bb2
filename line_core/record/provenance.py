"""Who proposed a concept and who changed it, read from the researcher's recorded answers.

A concept the researcher edited (in review mode, or with an edit of a pool concept) is the
researcher's: it is scored with source ``user``. The concept as it was first proposed, and who
proposed it, stay in the record: new runs write them into the answering ``UserAction``
(``original``, ``original_source``); runs written before those fields existed said the same in
the answer's ``detail`` ("edited from 'X' (lexicon)"), which is read as a fallback.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from line_core.record.events import UserAction

#: Actions whose answer may change the concept that gets scored.
CHANGING_ACTIONS = ("accept", "edit")
_EDITED_FROM = re.compile(r"edited from '(?P<concept>.*)'(?: \((?P<source>[^()]*)\))?\s*$")


@dataclass(frozen=True)
class Origin:
    """The concept as first proposed, and who proposed it ('' when unknown)."""

    concept: str
    source: str = ""


def origin_of(action: UserAction, source_of: Callable[[str], str]) -> Origin | None:
    """The proposal a researcher's answer changed, or None when it changed nothing.

    ``source_of`` names who proposed an earlier concept (for old runs whose answer did not say).
    """
    if action.action not in CHANGING_ACTIONS:
        return None
    if action.original:
        return Origin(action.original, action.original_source or source_of(action.original))
    match = _EDITED_FROM.search(action.detail or "")
    if match is None:
        return None
    concept = match.group("concept")
    return Origin(concept, match.group("source") or source_of(concept))
