"""Runs seen per unit, the search index and the layer's atlas, cached for the browse views.

Histories come from :mod:`dashboard.state` (re-read only when a run's files changed); the
search index is rebuilt only when some run's files or status changed, and the atlas ranking
of every unit only when the atlas gained shards. ``watch`` reruns a page when one of the runs
it shows writes something, so unit and neuron pages follow a live run.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from dashboard import backends, state
from line_core.analysis.search import SearchIndex, build_index
from line_core.analysis.units import UnitKey, UnitRun, group_by_unit
from line_core.atlas.ranking import AtlasRank, best_per_unit, rank_concepts
from line_core.config import ExplainConfig
from line_core.errors import LineError, RunStoreError
from line_core.record import list_runs

#: Seconds between two looks at the run store while a shown run is live.
WATCH_SECONDS = 2.0
LIVE_WORDS = ("starting", "running", "review")


def all_runs() -> list[UnitRun]:
    """Every readable run under the runs folder (unreadable folders are skipped)."""
    runs = []
    for path in list_runs(state.runs_dir()):
        try:
            hist = state.history(path)
        except RunStoreError:
            continue
        if hist.manifest is None:
            continue
        runs.append(UnitRun(state.run_key(path), path, hist, state.status(path, hist).word))
    return runs


def runs_by_unit() -> dict[UnitKey, list[UnitRun]]:
    """Every run grouped by the unit it explains, newest first."""
    return group_by_unit(all_runs())


@st.cache_resource(max_entries=4, show_spinner="Indexing every concept tried…")
def _index(signature: tuple[Any, ...], _runs: Sequence[UnitRun]) -> SearchIndex:
    return build_index(_runs)


def search_index() -> SearchIndex:
    """The index of every concept every run tried (rebuilt only when a run changed)."""
    runs = all_runs()
    signature = tuple((r.key, state.stamps(r.run_dir), r.status) for r in runs)
    return _index(signature, runs)


def layer_config(model: str, layer: str, runs: Sequence[UnitRun] = ()) -> ExplainConfig:
    """The settings to read a layer's atlas with (and to explain more of its units with).

    The newest run of the layer lends its generator, control set and read-out, so the atlas
    and control are the ones its runs used; without runs, the defaults.
    """
    if runs:
        newest = max(runs, key=lambda r: r.created)
        config = newest.manifest.config
        return ExplainConfig.from_dict({
            **config.to_dict(), "layer": layer, "neuron": None, "review": False,
            "runs_dir": str(state.runs_dir()),
        })
    return ExplainConfig(model=model, layer=layer, runs_dir=str(state.runs_dir()))


def _shards_stamp(folder: Path) -> tuple[int, int]:
    try:
        shards = folder / "shards"
        return (shards.stat().st_mtime_ns, sum(1 for _ in shards.glob("*.json")))
    except OSError:
        return (0, 0)


def built_atlas(config: ExplainConfig) -> tuple[Any, np.ndarray] | None:
    """(atlas, control activations [images, units]) when the layer's atlas is built, else None.

    Raises LineError when the model or generator cannot be loaded.
    """
    layer = str(config.layer)
    if not config.atlas or not backends.atlas_summary(config, layer).built:
        return None
    atlas = backends.layer_atlas(config, layer)
    return atlas, np.asarray(backends.control_set(config, layer).activations)


@st.cache_data(max_entries=8, show_spinner="Ranking the atlas's concepts for every unit…")
def _best_per_unit(folder: str, stamp: tuple[int, int], _atlas: Any,
                   _control: np.ndarray) -> list[AtlasRank | None]:
    return best_per_unit(_atlas, _control)


def atlas_best(atlas: Any, control: np.ndarray) -> list[AtlasRank | None]:
    """Each unit's best atlas concept (recomputed only when the atlas gained shards)."""
    folder = Path(atlas.folder)
    return _best_per_unit(str(folder), _shards_stamp(folder), atlas, control)


def atlas_top(atlas: Any, control: np.ndarray, unit: int, top: int = 8) -> list[AtlasRank]:
    """A unit's best atlas concepts."""
    return rank_concepts(atlas, unit, control[:, unit])[:top]


def atlas_for(model: str, layer: str, runs: Sequence[UnitRun]) -> tuple[Any, np.ndarray] | None:
    """The layer's built atlas and control, or None (with one caption saying why not)."""
    try:
        return built_atlas(layer_config(model, layer, runs))
    except LineError as exc:
        st.caption(f":material/travel_explore: The layer's concept atlas is not shown: {exc}")
        return None


def watch(run_dirs: Sequence[Path], key: str) -> None:
    """Rerun the page whenever one of these runs writes something, while any of them is live."""
    live = [p for p in run_dirs if state.status(p, state.history(p)).word in LIVE_WORDS]
    if not live:
        return
    st.session_state[f"_{key}_seen"] = _signature(live)
    _poll(tuple(str(p) for p in live), key)


def _signature(run_dirs: Sequence[Path]) -> tuple[Any, ...]:
    return tuple(state.stamps(p) for p in run_dirs)


@st.fragment(run_every=WATCH_SECONDS)
def _poll(run_dirs: tuple[str, ...], key: str) -> None:
    paths = [Path(p) for p in run_dirs]
    now = _signature(paths)
    seen = st.session_state.get(f"_{key}_seen")
    still_live = any(state.status(p, state.history(p)).word in LIVE_WORDS for p in paths)
    if now != seen or not still_live:
        st.session_state[f"_{key}_seen"] = now
        st.rerun()
    st.caption(":material/sync: Live: this page follows the run as it writes.")
