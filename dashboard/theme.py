"""Colours and chart styling shared by every view (Okabe-Ito, colour-blind safe)."""

from __future__ import annotations

from typing import Any

from line_core.concepts import Source, source_kind
from line_core.figures.style import OKABE_ITO as PAPER_PALETTE
from line_core.figures.style import SOURCE_COLOURS

#: The Okabe-Ito palette (short names) and the source colours of the paper figures, so a
#: concept has the same colour on screen and in print.
OKABE_ITO = {
    "black": PAPER_PALETTE["black"],
    "orange": PAPER_PALETTE["orange"],
    "sky": PAPER_PALETTE["sky_blue"],
    "green": PAPER_PALETTE["bluish_green"],
    "yellow": PAPER_PALETTE["yellow"],
    "blue": PAPER_PALETTE["blue"],
    "vermillion": PAPER_PALETTE["vermillion"],
    "purple": PAPER_PALETTE["reddish_purple"],
    "grey": "#8C8C8C",
}
CONTROL_COLOUR = OKABE_ITO["grey"]
BEST_COLOUR = OKABE_ITO["black"]
BASELINE_COLOUR = OKABE_ITO["grey"]

STATUS_BADGES = {
    "running": ("Running", "blue"),
    "review": ("Waiting for review", "orange"),
    "starting": ("Starting", "blue"),
    "finished": ("Finished", "green"),
    "stopped": ("Stopped", "gray"),
    "interrupted": ("Interrupted", "orange"),
    "failed": ("Failed", "red"),
    "empty": ("Not started", "gray"),
}


def source_colour(source: str) -> str:
    """The colour of a proposal source (summary-* sources share the summary colour)."""
    return SOURCE_COLOURS.get(source_kind(source), OKABE_ITO["black"])


def source_label(source: str) -> str:
    """A reader-facing name for a proposal source."""
    names = {
        Source.SEED: "seed vocabulary",
        Source.CONTROL_CLASS: "control class",
        Source.RANDOM_CLASS: "random class",
        Source.ATLAS: "atlas (top for this unit)",
        Source.RANDOM_ATLAS: "atlas (random)",
        Source.LEXICON: "lexicon",
        Source.LLM: "LLM",
        Source.USER: "you",
        Source.PROBE: "probe (driver test)",
    }
    kind = source_kind(source)
    return names.get(kind, kind)


def chart_layout(height: int = 320, **extra: Any) -> dict[str, Any]:
    """Common plotly layout: tight margins, readable fonts, no chart junk."""
    layout: dict[str, Any] = {
        "height": height,
        "margin": {"l": 10, "r": 10, "t": 30, "b": 10},
        "font": {"size": 13},
        # under the plot: above it, plotly's toolbar (top right, on hover) covers entries
        "legend": {
            "orientation": "h", "yanchor": "top", "y": -0.2, "xanchor": "left", "x": 0,
            "title": None, "font": {"size": 12},
        },
        "hoverlabel": {"font_size": 12},
        "colorway": [OKABE_ITO[k] for k in ("blue", "orange", "green", "vermillion", "purple")],
    }
    layout.update(extra)
    return layout


PLOTLY_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d"]}
