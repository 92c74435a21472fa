"""User text on a terminal: shown as written, never obeyed.

Study names, metric and parameter names, Choice values, trial reasons and error messages
come from scripts and from shared databases. Put on a terminal as they are, Rich markup
in them (`[/]`, `[link=…]`) crashes the printing or styles and links, and control
characters (ESC, CSI, BEL, CR) drive the terminal itself. Every such string passes
through `plain` (for click.echo and logging) or `text` (for Rich). Depends on nothing
else in tunelab."""

from __future__ import annotations

import logging
import unicodedata

from rich.console import Console
from rich.text import Text

# Unicode format characters that reorder or hide the text around them when displayed.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _visible(ch: str) -> str:
    if unicodedata.category(ch) != "Cc" and ch not in _BIDI:
        return ch
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def plain(value: object) -> str:
    """`str(value)` with every control character (C0, DEL, C1, bidi overrides) written
    as a visible escape such as `\\x1b` or `\\n`, so no terminal acts on it and it
    stays on its line."""
    string = str(value)
    if string.isprintable():  # the common case, and one pass in C
        return string
    return "".join(_visible(ch) for ch in string)


def text(value: object, style: str = "") -> Text:
    """`plain(value)` as a Rich Text: Rich never reads a Text as markup, so `[/]` or
    `[link=…]` in it shows as written. Table cells, titles and printed lines that hold
    user text are built from these, never from markup strings."""
    return Text(plain(value), style=style)


def console(stderr: bool = False) -> Console:
    """A Console that leaves `:name:` in user text alone (no emoji codes)."""
    return Console(stderr=stderr, emoji=False)


class PlainLogFormatter(logging.Formatter):
    """Log lines whose message (trial reasons, names) is `plain`; tracebacks stay as
    they are."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return plain(super().formatMessage(record))
