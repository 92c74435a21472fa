"""Small HTML tables for Jupyter's `_repr_html_`: a study and the insight results render
as compact tables in a notebook. Every piece of user text (study names, parameter names
and values) goes through `esc`, so a name like `<b>` shows as typed."""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from typing import Any

_TABLE = "border-collapse:collapse;font-size:0.9em;margin:0.2em 0 0.6em 0"
_CELL = "padding:0.15em 0.6em;border-bottom:1px solid #ddd;text-align:left"


def esc(value: Any) -> str:
    """`value` as text safe inside HTML, quotes included."""
    return html.escape(str(value), quote=True)


def fmt(value: Any) -> str:
    """A short, stable text for a value: floats to four significant digits."""
    if value is None:
        return "-"
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:.4g}"
    return str(value)


def table(headers: Sequence[Any], rows: Iterable[Sequence[Any]], caption: str = "") -> str:
    """A compact table; cells are formatted with `fmt` and escaped. `caption` is escaped."""
    head = "".join(f'<th style="{_CELL}">{esc(h)}</th>' for h in headers)
    body = "".join(
        "<tr>" + "".join(f'<td style="{_CELL}">{esc(fmt(c))}</td>' for c in row) + "</tr>"
        for row in rows
    )
    cap = f'<caption style="text-align:left">{esc(caption)}</caption>' if caption else ""
    return (
        f'<table style="{_TABLE}">{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    )


def block(title: str, *parts: str) -> str:
    """A titled block: `title` is escaped, `parts` are HTML already."""
    return f"<div><strong>{esc(title)}</strong>{''.join(parts)}</div>"
