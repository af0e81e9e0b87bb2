"""Cached analyses of runs (polysemanticity, comparison), keyed by the events file's stamp."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from dashboard import state
from line_core.record.store import EVENTS


def _stamp(run_dir: Path) -> tuple[int, int]:
    try:
        stat = (Path(run_dir) / EVENTS).stat()
    except OSError:
        return (0, 0)
    return (stat.st_mtime_ns, stat.st_size)


@st.cache_resource(max_entries=128, show_spinner="Finding the unit's drivers…")
def _poly(run_dir: str, stamp: tuple[int, int], knobs: tuple[float, float, float, float]) -> Any:
    from line_core.analysis import PolyConfig, polysemanticity

    margin, min_auc, min_strength, synonyms = knobs
    config = PolyConfig(
        margin=margin, min_auc=min_auc, min_strength=min_strength, synonym_similarity=synonyms
    )
    return polysemanticity(state.history(run_dir), config)


def poly_report(
    run_dir: Path,
    margin: float = 0.1,
    min_auc: float = 0.6,
    min_strength: float = 0.5,
    synonyms: float = 0.8,
) -> Any:
    """The polysemanticity report of a run (recomputed only when the run changed)."""
    return _poly(str(run_dir), _stamp(run_dir), (margin, min_auc, min_strength, synonyms))


@st.cache_resource(max_entries=32, show_spinner="Comparing the runs…")
def _compare(a: str, stamp_a: tuple, b: str, stamp_b: tuple) -> Any:
    from line_core.analysis import compare_runs

    return compare_runs(state.history(a), state.history(b))


def comparison(run_a: Path, run_b: Path) -> Any:
    """Labels, scores, overlap and curves of two runs."""
    return _compare(str(run_a), _stamp(run_a), str(run_b), _stamp(run_b))
