"""Paper styling shared by the plotly builders and the matplotlib fallback.

Sizes: plotly lays out in CSS pixels and kaleido prints PDF/SVG at 96 px per inch (checked:
a 336 x 240 px figure becomes a 252 x 180 pt PDF page), so a 3.5 in column is 336 px and an
8 pt font is 10.7 px. PNG is rendered at ~300 dpi (scale 300/96).
"""

from __future__ import annotations

from dataclasses import dataclass

import plotly.graph_objects as go

from line_core.errors import ConfigError

PX_PER_IN = 96
PNG_DPI = 300

OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
#: Categorical order: the most distinguishable first (yellow last: weak on white).
PALETTE = [
    OKABE_ITO[k]
    for k in ("blue", "orange", "bluish_green", "vermillion", "reddish_purple", "sky_blue", "black")
]
GREY = "#8C8C8C"
LIGHT_GREY = "#D9D9D9"
#: Colour of each concept source (``ConceptProposed.source``). The initial pool's sources
#: (seed vocabulary, atlas, class names, random picks) share green, so the LLM's blue has no
#: near twin; probes are yellow (drawn with a dark outline where they are small).
SOURCE_COLOURS = {
    "llm": OKABE_ITO["blue"],
    "lexicon": OKABE_ITO["orange"],
    "user": OKABE_ITO["vermillion"],
    "seed": OKABE_ITO["bluish_green"],
    "control-class": OKABE_ITO["bluish_green"],
    "random-class": OKABE_ITO["bluish_green"],
    "atlas": OKABE_ITO["bluish_green"],
    "random-atlas": OKABE_ITO["bluish_green"],
    "summary": OKABE_ITO["reddish_purple"],
    "probe": OKABE_ITO["yellow"],
}
SOURCE_SYMBOLS = {
    "llm": "circle",
    "lexicon": "diamond",
    "user": "star",
    "seed": "square",
    "control-class": "triangle-up",
    "random-class": "square",
    "atlas": "triangle-up",
    "random-atlas": "square",
    "summary": "x",
    "probe": "cross",
}
#: Sequential, colour-blind-safe scale for scores.
SCORE_SCALE = "Cividis"
FONT_FAMILY = "Arial, Liberation Sans, Helvetica, DejaVu Sans, sans-serif"
MPL_FONTS = ["Arial", "Liberation Sans", "Helvetica", "DejaVu Sans"]


@dataclass(frozen=True)
class Preset:
    """A paper figure size: width in inches, font sizes in points."""

    name: str
    width_in: float
    font_pt: float = 8.0
    small_pt: float = 7.0

    @property
    def width_px(self) -> int:
        """Width in CSS pixels (plotly's unit)."""
        return round(self.width_in * PX_PER_IN)

    def px(self, points: float) -> float:
        """A point size in CSS pixels."""
        return points * PX_PER_IN / 72.0

    @property
    def font_px(self) -> float:
        """The body font size in CSS pixels."""
        return self.px(self.font_pt)

    @property
    def small_px(self) -> float:
        """The small font size (ticks, captions) in CSS pixels."""
        return self.px(self.small_pt)


PRESETS = {
    "single": Preset("single", 3.5),
    "double": Preset("double", 7.0, font_pt=9.0, small_pt=8.0),
}


def get_preset(name: str | Preset) -> Preset:
    """A preset by name; ConfigError naming the choices when unknown."""
    if isinstance(name, Preset):
        return name
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(
            f"unknown figure preset {name!r}: choose one of {', '.join(PRESETS)}"
        ) from None


def source_colour(source: str) -> str:
    """The colour of a concept source (black for unknown sources)."""
    return SOURCE_COLOURS.get(source, OKABE_ITO["black"])


def source_edge(source: str) -> str:
    """Outline (and error-bar) colour for a source's markers: dark around light yellow."""
    return "#333333" if source_colour(source) == OKABE_ITO["yellow"] else "#FFFFFF"


def apply_paper_style(fig: go.Figure, preset: str | Preset, height_in: float) -> go.Figure:
    """Fix size, fonts, white background and margins; no title (captions go in the paper)."""
    p = get_preset(preset)
    fig.update_layout(
        template="simple_white",
        width=p.width_px,
        height=round(height_in * PX_PER_IN),
        font={"family": FONT_FAMILY, "size": p.font_px, "color": "#000000"},
        paper_bgcolor="#FFFFFF",
        plot_bgcolor="#FFFFFF",
        title=None,
        # an explicit bottom margin: automargin of the x title is flaky in one-pass export
        margin={"l": 6, "r": 6, "t": 6, "b": round(p.small_px * 1.5 + p.font_px * 1.6 + 8)},
        legend={"font": {"size": p.small_px}, "bgcolor": "rgba(255,255,255,0.8)"},
        hoverlabel={"font": {"size": p.font_px}},
    )
    axis = {
        "tickfont": {"size": p.small_px},
        "title_font": {"size": p.font_px},
        "automargin": True,
        "ticklen": 3,
        "tickwidth": 0.8,
        "linewidth": 0.8,
    }
    fig.update_xaxes(**axis)
    fig.update_yaxes(**axis)
    return fig


def height_for(preset: str | Preset, single_in: float, double_in: float | None = None) -> float:
    """A figure height in inches for the preset (double-column figures may be flatter)."""
    p = get_preset(preset)
    return double_in if (p.name == "double" and double_in is not None) else single_in
