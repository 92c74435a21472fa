"""Section: one part of a report, shared by the HTML file and the dashboard."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tunelab.plot.figures import Figure


@dataclass(frozen=True)
class Section:
    """A title, HTML (tables, notes; already escaped) and Plotly figures keyed by DOM id."""

    id: str
    title: str
    html: str = ""
    figures: tuple[tuple[str, Figure], ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """The section as a dict (figures as Plotly objects), for the dashboard's JSON."""
        return {
            "id": self.id,
            "title": self.title,
            "html": self.html,
            "figures": [{"id": i, "figure": f} for i, f in self.figures],
        }
