"""User text on a terminal: shown as written, never obeyed.

Study names, metric and parameter names, Choice values, trial reasons and error messages
come from scripts and from shared databases. Put on a terminal as they are, Rich markup
in them (`[/]`, `[link=…]`) crashes the printing or styles and links, and control
characters (ESC, CSI, BEL, CR) drive the terminal itself. Every such string passes
through `plain` (for click.echo) or `markup` (for text given to Rich). Depends on nothing
else in tunelab."""

from __future__ import annotations

import unicodedata

from rich.console import Console
from rich.markup import escape

# Unicode format characters that reorder or hide the text around them when displayed.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _visible(ch: str) -> str:
    if unicodedata.category(ch) != "Cc" and ch not in _BIDI:
        return ch
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def plain(value: object) -> str:
    """`str(value)` with every control character (C0, DEL, C1, bidi overrides) written
    as a visible escape such as `\\x1b`, so no terminal acts on it."""
    text = str(value)
    if text.isprintable():  # the common case, and one pass in C
        return text
    return "".join(_visible(ch) for ch in text)


def markup(value: object) -> str:
    """`plain(value)` with Rich markup escaped: safe inside a string Rich will parse (an
    f-string for console.print, a table cell, title or column header)."""
    return escape(plain(value))


def console(stderr: bool = False) -> Console:
    """A Console that leaves `:name:` in user text alone (no emoji codes)."""
    return Console(stderr=stderr, emoji=False)
