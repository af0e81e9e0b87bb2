"""Control regimes of an evaluation, and the labels that collapse under the generator's control.

An evaluation scores every label against one or two control sets, its *regimes*:

* ``generator``: images the evaluation's own generator renders from neutral prompts (default);
* ``natural``: a folder of natural images (the CoSy regime: the dataset's validation split).

A label **collapses** when it is strong against natural images but near chance against the
generator-matched control: its images beat photos only because they look generated, so the unit
responds to "looks generated", not to the concept. The rule, on the AUC of one (method, unit)
under each regime::

    collapsed = (AUC_natural >= COLLAPSE_NATURAL_MIN_AUC
                 and AUC_generator <= COLLAPSE_GENERATOR_MAX_AUC)

0.8 is the bar the ground-truth benchmark sets for a recovered label (a label "works"), and 0.6
is within 0.1 of chance (the label's images are hardly told apart from neutral renders); a gap
of at least 0.2 AUC separates the two. Both are fixed in advance, not fitted to any example.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

GENERATOR = "generator"
NATURAL = "natural"
#: AUC against the natural control from which a label counts as strong there.
COLLAPSE_NATURAL_MIN_AUC = 0.8
#: AUC against the generator-matched control up to which a label counts as near chance there.
COLLAPSE_GENERATOR_MAX_AUC = 0.6
COLLAPSE_RULE = (
    f"AUC against natural images >= {COLLAPSE_NATURAL_MIN_AUC} and AUC against the "
    f"generator-matched control <= {COLLAPSE_GENERATOR_MAX_AUC}"
)
COLLAPSED_COLUMNS = ("method", "unit", "label", "auc_natural", "auc_generator")


def regime_of(control: str) -> str:
    """The regime a control spec names: ``generator`` (or empty) or ``natural`` (a folder)."""
    return GENERATOR if control in ("", GENERATOR) else NATURAL


def regime_label(control: str) -> str:
    """A reader-facing name of a regime ("generator-matched control", "natural images")."""
    return "generator-matched control" if control == GENERATOR else "natural images"


def is_collapsed(auc_natural: float, auc_generator: float) -> bool:
    """The collapse rule of the module docstring on one label's two AUCs."""
    return bool(
        auc_natural >= COLLAPSE_NATURAL_MIN_AUC and auc_generator <= COLLAPSE_GENERATOR_MAX_AUC
    )


def _paired_auc(results: pd.DataFrame) -> pd.DataFrame:
    """One row per (method, unit) scored under both regimes: its label and the two AUCs."""
    both = results[results["control"].isin([GENERATOR, NATURAL])]
    wide = both.pivot_table(
        index=["method", "unit"], columns="control", values="auc", aggfunc="first"
    )
    if GENERATOR not in wide.columns or NATURAL not in wide.columns:
        return pd.DataFrame(columns=list(COLLAPSED_COLUMNS))
    wide = wide.dropna(subset=[GENERATOR, NATURAL])
    labels = both.drop_duplicates(["method", "unit"]).set_index(["method", "unit"])["label"]
    return pd.DataFrame({
        "label": labels.reindex(wide.index),
        "auc_natural": wide[NATURAL], "auc_generator": wide[GENERATOR],
    }).reset_index()  # fmt: skip


def flag_collapsed(results: pd.DataFrame) -> pd.Series:
    """Per row of ``results`` (columns method, control, unit, auc): its label collapses.

    Every row of a collapsed (method, unit) is flagged, whatever its regime; with one regime
    nothing can collapse and every flag is False.
    """
    pairs = _paired_auc(results)
    flagged = {
        (row.method, row.unit)
        for row in pairs.itertuples()
        if is_collapsed(row.auc_natural, row.auc_generator)
    }
    keys = zip(results["method"], results["unit"], strict=True)
    return pd.Series(np.array([key in flagged for key in keys], dtype=bool), index=results.index)


def collapsed_table(results: pd.DataFrame) -> pd.DataFrame:
    """The collapsed labels: method, unit, label and both AUCs (natural AUC highest first)."""
    pairs = _paired_auc(results)
    if pairs.empty:
        return pairs
    keep = [
        is_collapsed(n, g)
        for n, g in zip(pairs["auc_natural"], pairs["auc_generator"], strict=True)
    ]
    table = pairs[keep].sort_values(
        ["auc_natural", "method", "unit"], ascending=[False, True, True]
    )
    return table[list(COLLAPSED_COLUMNS)].reset_index(drop=True)
