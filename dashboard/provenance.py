"""Provenance in words: who proposed a concept, who changed it, and which concepts are banned.

The facts come from the run's history (``ScoredRecord.proposed_by`` / ``changed_by``,
``RunHistory.banned_concepts``); this module only says them, the same way on every page.
"""

from __future__ import annotations

import streamlit as st

from dashboard.theme import source_label
from line_core.concepts import normalise
from line_core.record import Ban, RunHistory, ScoredRecord

BAN_EFFECT = "excluded from the label and the pool, never proposed again"


def provenance_text(record: ScoredRecord) -> str:
    """'proposed by lexicon', or 'edited by you from `x` (proposed by lexicon)'."""
    if not record.changed_by:
        return f"proposed by {source_label(record.source)}"
    return (f"edited by {source_label(record.changed_by)} from `{record.original}` "
            f"(proposed by {source_label(record.proposed_by) or 'unknown'})")


def source_cell(record: ScoredRecord) -> str:
    """A table's source column: 'lexicon', or 'you (edited lexicon's proposal)'."""
    if not record.changed_by:
        return source_label(record.source)
    return (f"{source_label(record.source)} (edited "
            f"{source_label(record.proposed_by) or 'a'} proposal '{record.original}')")


def queued_bans(hist: RunHistory) -> list[str]:
    """Concepts whose ban is posted but not applied yet, as typed (one per concept)."""
    seen: dict[str, str] = {}
    for command in hist.pending_commands:
        if isinstance(command, Ban):
            seen.setdefault(normalise(command.concept), command.concept)
    return list(seen.values())


def ban_note(hist: RunHistory) -> None:
    """One caption where bans take effect: what is banned (or queued) and what that excludes."""
    parts = []
    if hist.banned_concepts:
        struck = ", ".join(f"~~{c}~~" for c in hist.banned_concepts)
        parts.append(f":red[**Banned by you**]: {struck} — {BAN_EFFECT}")
    queued = [c for c in queued_bans(hist) if not hist.is_banned(c)]
    if queued:
        parts.append("ban queued (applied between stages): " + ", ".join(queued))
    if parts:
        st.caption(":material/block: " + " · ".join(parts))
