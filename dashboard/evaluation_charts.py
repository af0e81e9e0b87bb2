"""The Evaluate page's chart: one method against another, unit by unit, with the diagonal."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboard.theme import OKABE_ITO, chart_layout

METRIC_TITLES = {"auc": "AUC", "mad": "MAD"}


def paired_units(
    results: pd.DataFrame, method_a: str, method_b: str, control: str, metric: str
) -> pd.DataFrame:
    """Units both methods labelled under one control: unit, labels, both scores, collapsed."""
    rows = results[results["control"] == control]
    columns = ["unit", "label", metric, "collapsed"]
    a = rows[rows["method"] == method_a][columns]
    b = rows[rows["method"] == method_b][columns]
    both = a.merge(b, on="unit", how="inner", suffixes=("_a", "_b"))
    both["collapsed"] = both["collapsed_a"].astype(bool) | both["collapsed_b"].astype(bool)
    return both.sort_values("unit").reset_index(drop=True)


def _short(text: str, width: int = 32) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def method_scatter(
    results: pd.DataFrame, method_a: str, method_b: str, control: str, metric: str = "auc"
) -> go.Figure:
    """Each unit both methods labelled: A's score (x) against B's (y); the diagonal y = x.

    Points above the diagonal are units where B scores higher. A unit whose label collapses
    under the generator-matched control (either method's) is drawn as a cross.
    """
    both = paired_units(results, method_a, method_b, control, metric)
    x, y = both[f"{metric}_a"], both[f"{metric}_b"]
    if metric == "auc":
        low, high = -0.03, 1.03  # room for the markers at 0 and 1
    else:
        values = pd.concat([x, y]) if len(both) else pd.Series([0.0, 1.0])
        pad = 0.05 * float(values.max() - values.min() or 1.0)
        low, high = float(values.min()) - pad, float(values.max()) + pad
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=[low, high], y=[low, high], mode="lines", name="A = B",
        line={"color": OKABE_ITO["grey"], "dash": "dash", "width": 1.5}, hoverinfo="skip",
    ))  # fmt: skip
    for collapsed, name, colour, symbol in (
        (False, "units", OKABE_ITO["blue"], "circle"),
        (True, "collapsed label", OKABE_ITO["vermillion"], "x"),
    ):
        part = both[both["collapsed"] == collapsed]
        if part.empty:
            continue
        fig.add_trace(go.Scatter(
            x=part[f"{metric}_a"], y=part[f"{metric}_b"], mode="markers", name=name,
            marker={"size": 10, "color": colour, "symbol": symbol, "opacity": 0.85,
                    "line": {"width": 0.5, "color": "#fff"}},
            customdata=[[u, _short(la), _short(lb)] for u, la, lb in
                        zip(part["unit"], part["label_a"], part["label_b"], strict=True)],
            hovertemplate="unit %{customdata[0]}<br>A: %{customdata[1]} · %{x:.3f}"
            "<br>B: %{customdata[2]} · %{y:.3f}<extra></extra>",
        ))  # fmt: skip
    title = METRIC_TITLES.get(metric, metric)
    fig.update_layout(
        **chart_layout(height=420),
        xaxis={"title": f"{title} of A: {_short(method_a, 40)}", "range": [low, high],
               "zeroline": False, "constrain": "domain"},
        yaxis={"title": f"{title} of B: {_short(method_b, 40)}", "range": [low, high],
               "zeroline": False, "scaleanchor": "x", "scaleratio": 1},
    )  # fmt: skip
    return fig
