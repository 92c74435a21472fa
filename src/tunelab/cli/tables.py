"""Tables that stay readable in a narrow terminal (80 columns): a number, a trial number
or a score is never cut to `…`.

Rich, short of room, first wraps the columns that may wrap and then shrinks every
column, numbers included. Two guards keep that from reaching a number: `guard` marks a
table's number columns no-wrap and every column fold-not-ellipsis; `split_columns`
sizes a wide table itself (headers broken at `_`, numbers at their full width) and
moves the columns that do not fit into a continuation table that repeats the key
column (the trial number), so a wide table wraps instead of being cut."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from tunelab._terminal import console, plain, text

# Rich's default table: one space of padding on each side and one border per column,
# plus the closing border.
_PER_COLUMN = 3
_TEXT_MAX = 24  # a text column (a Choice value) wraps past this width when room is short
_HEADER_MIN = 4
_BREAK_MAX = 12  # a header piece up to this long stays whole when broken at `_`
_BREAKS = re.compile(r"[^_ ]*[_ ]|[^_ ]+$")  # "learning_" "rate", "best " "val_" "accuracy"


@dataclass(frozen=True)
class Column:
    """A column's header and cells (plain strings); `number` ones never wrap."""

    header: str
    cells: Sequence[str]
    number: bool = True


def guard(table: Table, width: int | None = None) -> Table:
    """Make Rich fold, never ellipsise, keep right-justified (number) columns whole, and
    break the headers that would make the table wider than `width` (default: the
    terminal's) at their spaces and `_`s."""
    for column in table.columns:
        column.overflow = "fold"
        if column.justify == "right":
            column.no_wrap = True
    columns = [
        Column(
            str(c.header),
            [_cell_text(cell) for cell in c.cells],
            number=c.justify == "right",
        )
        for c in table.columns
    ]
    if columns and all(isinstance(c.header, (str, Text)) for c in table.columns):
        sized = _sized(columns[0], columns[1:], width or console().width)
        for column, (_, header) in zip(table.columns, sized, strict=True):
            if header.plain != plain(str(column.header)):
                column.header = header
    return table


def _cell_text(cell: Any) -> str:
    return cell.plain if isinstance(cell, Text) else str(cell)


def header_lines(header: str, width: int) -> list[str]:
    """`header` broken after its `_`s (then anywhere) into lines of at most `width`."""
    width = max(width, _HEADER_MIN)
    if len(header) <= width:
        return [header]
    lines: list[str] = []
    current = ""
    for token in _BREAKS.findall(header):
        while len(token.rstrip()) > width:
            if current:
                lines.append(current)
                current = ""
            lines.append(token[:width])
            token = token[width:]
        if current and len(current) + len(token.rstrip()) > width:
            lines.append(current.rstrip())
            current = ""
        current += token
    if current.strip():
        lines.append(current.rstrip())
    return lines


def _data_width(column: Column, wrapped: bool = False) -> int:
    """Numbers at full width; text at full width up to _TEXT_MAX, or `wrapped` at its
    longest word (Rich wraps text at spaces when room is short)."""
    if column.number:
        return max((len(c) for c in column.cells), default=1)
    if wrapped:
        return min(max((len(w) for c in column.cells for w in c.split()), default=1), _TEXT_MAX)
    return min(max((len(c) for c in column.cells), default=1), _TEXT_MAX)


def _header(column: Column, width: int | None) -> tuple[int, Text]:
    """The column's width and its header, whole (`width` None) or broken to `width`."""
    lines = [column.header] if width is None else header_lines(column.header, width)
    shown = [plain(line) for line in lines]
    return max(_data_width(column), *(len(line) for line in shown)), Text("\n".join(shown))


def _sized(key: Column, columns: Sequence[Column], width: int) -> list[tuple[int, Text]]:
    """Each column's width and header: whole headers where the table fits; else the
    headers longest past their cells broken at their spaces and `_`s, one at a time,
    until it fits; if it still does not once text cells wrap, headers broken anywhere
    (down to the numbers' width)."""
    every = [key, *columns]
    sized = [_header(c, None) for c in every]

    def total(wrapped: bool) -> int:
        widths = [
            w
            if c.number or not wrapped
            else max(_data_width(c, True), *(len(x) for x in h.plain.splitlines() or [""]))
            for c, (w, h) in zip(every, sized, strict=True)
        ]
        return 1 + sum(w + _PER_COLUMN for w in widths)

    excess = sorted(range(len(every)), key=lambda i: _data_width(every[i]) - len(every[i].header))
    for i in excess:  # first "learning_/rate", "best/val_/accuracy"
        if total(wrapped=False) <= width:
            return sized
        pieces = [p.rstrip() for p in _BREAKS.findall(every[i].header)]
        if len(pieces) > 1:
            target = max(_data_width(every[i]), min(max(map(len, pieces)), _BREAK_MAX))
            broken = _header(every[i], target)
            sized[i] = broken if broken[0] < sized[i][0] else sized[i]
    for i in excess:  # then "hidd/en1", unless wrapping text cells makes room
        if total(wrapped=True) <= width:
            return sized
        if not re.search("[_ ]", every[i].header.strip("_ ")):
            broken = _header(every[i], _data_width(every[i]))
            sized[i] = broken if broken[0] < sized[i][0] else sized[i]
    return sized


def split_columns(
    title: str, key: Column, columns: Sequence[Column], width: int, caption: str | None = None
) -> list[Table]:
    """One table of `key` and `columns` if it fits in `width`, else several: each one
    the key column and as many of the next columns as fit, in order."""
    (key_width, key_header), *rest = _sized(key, columns, width)
    sized = [(c, w, h) for c, (w, h) in zip(columns, rest, strict=True)]
    parts: list[list[tuple[Column, int, Text]]] = [[]]
    used = 1 + key_width + _PER_COLUMN
    for entry in sized:
        need = entry[1] + _PER_COLUMN
        if parts[-1] and used + need > width:
            parts.append([])
            used = 1 + key_width + _PER_COLUMN
        parts[-1].append(entry)
        used += need
    tables = []
    for i, part in enumerate(parts):
        table = Table(
            title=text(title if i == 0 else f"{title} (continued)"),
            caption=text(caption) if caption and i == len(parts) - 1 else None,
        )
        for column, header in [(key, key_header), *[(c, h) for c, _, h in part]]:
            table.add_column(
                header,
                justify="right" if column.number else "left",
                no_wrap=column.number,
                overflow="fold",
            )
        for row in range(len(key.cells)):
            table.add_row(text(key.cells[row]), *[text(c.cells[row]) for c, _, _ in part])
        tables.append(table)
    return tables


def fixed_settings(trials: Sequence[Any]) -> dict[str, Any]:
    """The parameters every trial holds with one and the same value (a fixed setting,
    or one the search never varied): shown once above a table, not as columns. Needs
    two trials: in one, nothing can be seen to vary."""
    if len(trials) < 2:
        return {}
    first = trials[0].params
    return {
        name: value
        for name, value in first.items()
        if all(name in t.params and _same(t.params[name], value) for t in trials)
    }


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def fixed_line(fixed: Mapping[str, Any], fmt: Any) -> Text:
    """'fixed: epochs=10, optimizer=adam, …' (names and values are user text)."""
    return text("fixed: " + ", ".join(f"{k}={plain(fmt(v))}" for k, v in fixed.items()))


def grouped(*parts: Any) -> Group:
    """Several renderables printed one after the other."""
    return Group(*[p for p in parts if p is not None])
