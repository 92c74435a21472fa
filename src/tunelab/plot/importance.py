"""The importance of each hyperparameter as a horizontal bar chart, most important on top."""

from __future__ import annotations

from tunelab.insight import Importance
from tunelab.plot.figures import Figure, layout


def importance_figure(imp: Importance) -> Figure:
    """Each parameter's share of the explained variance of `imp`'s metric."""
    names = list(imp.scores)[::-1]  # most important at the top of a horizontal bar chart
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "x": [imp.scores[n] for n in names],
                "y": names,
                "text": [f"{imp.scores[n]:.0%}" for n in names],
                "textposition": "auto",
                "marker": {"color": "#1f77b4"},
                "hovertemplate": "%{y}: %{x:.1%}<extra></extra>",
            }
        ],
        "layout": layout(
            f"Importance for {imp.metric or 'the metric'}",
            xaxis={"title": {"text": "share of explained variance"}, "tickformat": ".0%"},
            yaxis={"automargin": True},
            height=max(220, 40 + 32 * len(names)),
        ),
    }
