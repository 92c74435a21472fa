"""Small HTML builders. Every piece of text from a study goes through `esc`: study
names, parameter values and failure reasons are user data."""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable, Sequence
from typing import Any

from tunelab.plot.axes import fmt


def esc(value: Any) -> str:
    return html.escape(value if isinstance(value, str) else fmt(value), quote=True)


def table(
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    numeric_from: int = 1,
    highlight: int | None = None,
    cls: str = "",
) -> str:
    """A table; cells are escaped unless given as `Raw`. Columns from `numeric_from` on
    are right-aligned. Row `highlight` is marked (the best row)."""
    head = "".join(
        f'<th class="{"num" if i >= numeric_from else ""}">{esc(c)}</th>'
        for i, c in enumerate(columns)
    )
    body = []
    for r, row in enumerate(rows):
        cells = "".join(
            f'<td class="{"num" if i >= numeric_from else ""}">'
            f"{cell.text if isinstance(cell, Raw) else esc(cell)}</td>"
            for i, cell in enumerate(row)
        )
        mark = ' class="best"' if r == highlight else ""
        body.append(f"<tr{mark}>{cells}</tr>")
    return (
        f'<div class="scroll"><table class="{cls}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


class Raw:
    """Markup that is already safe (built here from escaped parts)."""

    def __init__(self, text: str) -> None:
        self.text = text


def note(text: str, kind: str = "note") -> str:
    return f'<p class="{kind}">{esc(text)}</p>'


def definition_list(items: Iterable[tuple[str, Any]]) -> str:
    inner = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in items)
    return f'<dl class="facts">{inner}</dl>'


def seconds(value: float | None) -> str:
    """A duration the way people read it: 0.85 s, 42 s, 3.5 min, 1.2 h."""
    if value is None:
        return "-"
    if value < 10:
        return f"{value:.2g} s"
    if value < 120:
        return f"{value:.0f} s"
    if value < 7200:
        return f"{value / 60:.1f} min"
    return f"{value / 3600:.1f} h"


def script_json(data: Any) -> str:
    """JSON safe inside a <script> element: no '</script>' or '<!--' can close it early."""
    text = json.dumps(finite(data), allow_nan=False, separators=(",", ":"), default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def finite(data: Any) -> Any:
    """`data` with NaN and infinities as None (JSON has no spelling for them)."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: finite(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [finite(v) for v in data]
    return data
