"""One clear ``st.error`` instead of a traceback, wherever a view calls the engine."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from line_core.errors import LineError, RunStoreError

LOG = logging.getLogger("line.dashboard")

_HINTS = {
    RunStoreError: "Other runs are unaffected; pick another run or remove the broken folder.",
}


def error_message(exc: BaseException, action: str) -> str:
    """The one-line message shown for an error raised while doing ``action``."""
    if isinstance(exc, LineError):
        hint = next((h for kind, h in _HINTS.items() if isinstance(exc, kind)), "")
        return f"{exc}" + (f" — {hint}" if hint else "")
    return (
        f"Could not {action}: {type(exc).__name__}: {exc}. No run data was changed; "
        "the details are in the server log."
    )


@contextmanager
def guard(action: str) -> Iterator[None]:
    """Show any error raised inside the block as one ``st.error`` line; the page keeps working.

    Streamlit's own control flow (rerun, stop, page switch) derives from BaseException and
    passes through untouched.
    """
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - the page's last line of defence
        if not isinstance(exc, LineError):
            LOG.exception("dashboard error while trying to %s", action)
        st.error(error_message(exc, action), icon=":material/error:")
