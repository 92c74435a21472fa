"""The self-contained HTML report: one file with the style, plotly.js, the figures as
JSON and the tables as HTML, viewable with no network access. A Content-Security-Policy
in the file lets only its own two scripts run (allowed by their hashes): the one that
draws the figures, and plotly.js, which waits as inert text until that one runs it for
the first plot, so the tables show before the browser spends its time on plotly.js."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from pathlib import Path

from tunelab.errors import ConfigurationError
from tunelab.report.assets import (
    CSS,
    FAVICON,
    RENDER_JS,
    content_security_policy,
    plotly_js,
    script_hash,
)
from tunelab.report.markup import esc, script_json
from tunelab.report.section import Section
from tunelab.report.sections import build_sections
from tunelab.study import Study

# Characters no file name may hold on some system: path separators first ("study/seeds",
# the name seed re-runs give their study, must not become a folder), then the ones Windows
# refuses, control characters and spaces.
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\s]+')


def report_file_name(study_name: str) -> str:
    """The default file name of a study's report: the name with every character a file
    name cannot hold replaced by '-' ("study/seeds" -> "study-seeds-report.html")."""
    stem = _UNSAFE.sub("-", study_name).strip("-.") or "study"
    return f"{stem}-report.html"


def section_html(section: Section) -> str:
    figures = "".join(
        f'<div class="fig" data-lazy id="{esc(fid)}"></div>' for fid, _ in section.figures
    )
    return (
        f'<section class="card" id="s-{esc(section.id)}"><h2>{esc(section.title)}</h2>'
        f"{section.html}{figures}</section>"
    )


def page(title: str, sections: Sequence[Section]) -> str:
    """The whole document for `sections`."""
    figures = {fid: fig for s in sections for fid, fig in s.figures}
    toc = "".join(f'<a href="#s-{esc(s.id)}">{esc(s.title)}</a>' for s in sections)
    body = "".join(section_html(s) for s in sections)
    plotly = plotly_js()
    policy = content_security_policy([script_hash(plotly), script_hash(RENDER_JS)])
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{esc(policy)}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"{FAVICON}<title>{esc(title)}</title><style>{CSS}</style>"
        "</head><body>"
        f'<header class="top"><h1>{esc(title)}</h1><div class="sub">tunelab report · '
        f"{esc(time.strftime('%Y-%m-%d %H:%M'))}</div></header>"
        f'<main><nav class="toc">{toc}</nav>{body}</main>'
        f'<script type="application/json" id="tunelab-figures">{script_json(figures)}</script>'
        f'<script type="text/plain" id="tunelab-plotly">{plotly}</script>'
        f"<script>{RENDER_JS}</script></body></html>\n"
    )


def render_report(study: Study, curves_by: str | None = None) -> str:
    """The report of `study` as one HTML string."""
    return page(f"tunelab report: {study.name}", build_sections(study, curves_by))


def write_report(study: Study, path: str | Path, curves_by: str | None = None) -> Path:
    """Write the self-contained HTML report of `study` to `path`; return the path.

    `curves_by` names the hyperparameter that colours the learning curves (default: the
    learning rate if tuned, else the most important parameter)."""
    target = Path(path)
    if target.is_dir():
        raise ConfigurationError(
            f"cannot write the report to {str(target)!r}: it is a folder; give a file name"
        )
    if not target.parent.is_dir():
        raise ConfigurationError(
            f"cannot write the report to {str(target)!r}: the folder {str(target.parent)!r} "
            "does not exist; create it first"
        )
    text = render_report(study, curves_by)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(target)
    return target
