"""Paper figures of a run: plotly builders (interactive and for export) plus matplotlib twins.

Every builder takes ``preset``: ``"single"`` (3.5 in), ``"double"`` (7 in) or None for a
responsive screen layout (dashboard).
"""

from line_core.figures.activation_bars import activation_bars
from line_core.figures.catalog import (
    RUN_FIGURES,
    RunData,
    load_run_data,
    mpl_figures,
    plotly_figures,
)
from line_core.figures.image_grid import image_grid
from line_core.figures.layer_table import LayerRow, layer_rows, layer_table, summarise_run
from line_core.figures.poly_map import poly_map
from line_core.figures.score_curve import score_curve
from line_core.figures.style import OKABE_ITO, PRESETS, SOURCE_COLOURS, Preset, get_preset

__all__ = [
    "OKABE_ITO",
    "PRESETS",
    "RUN_FIGURES",
    "SOURCE_COLOURS",
    "LayerRow",
    "Preset",
    "RunData",
    "activation_bars",
    "get_preset",
    "image_grid",
    "layer_rows",
    "layer_table",
    "load_run_data",
    "mpl_figures",
    "plotly_figures",
    "poly_map",
    "score_curve",
    "summarise_run",
]
