"""What the report and the dashboard share in the browser: the style sheet, the script
that draws figures, plotly.js itself, read from the plotly package so no page ever
needs the network, and the Content-Security-Policy both pages run under."""

from __future__ import annotations

import base64
import functools
import hashlib
from collections.abc import Iterable

FAVICON = '<link rel="icon" href="data:,">'  # no /favicon.ico request, no 404 in the console

CSS = """
:root { --fg:#1d2330; --muted:#5c6575; --line:#e3e6eb; --accent:#1f77b4; --warn:#b35c00; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif; color:var(--fg);
       background:#f4f5f7; }
header.top { background:#1d2330; color:#fff; padding:12px 24px; }
header.top h1 { margin:0; font-size:18px; font-weight:600; }
header.top .sub { color:#b9c0cc; font-size:12px; }
main { max-width:1200px; margin:0 auto; padding:16px 24px 48px; }
nav.toc { margin:8px 0 16px; font-size:13px; }
nav.toc a { margin-right:12px; color:var(--accent); text-decoration:none; }
section.card { background:#fff; border:1px solid var(--line); border-radius:6px; padding:12px 18px;
               margin:0 0 16px; }
section.card h2 { font-size:16px; margin:4px 0 10px; }
section.card h3 { font-size:14px; margin:14px 0 6px; }
.scroll { overflow-x:auto; }
table { border-collapse:collapse; font-size:13px; margin:4px 0 8px; }
th, td { padding:3px 10px; border-bottom:1px solid var(--line); text-align:left; white-space:nowrap; }
th { background:#f7f8fa; font-weight:600; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
tr.best td { background:#eaf4ea; font-weight:600; }
table.wrap td:last-child { white-space:normal; min-width:240px; color:var(--muted); }
dl.facts { display:grid; grid-template-columns:max-content 1fr; gap:2px 16px; margin:0 0 8px; }
dl.facts dt { color:var(--muted); } dl.facts dd { margin:0; }
p.note { color:var(--muted); margin:4px 0 8px; }
p.warn { color:var(--warn); background:#fff6e8; border:1px solid #f3d9b1; padding:6px 10px;
         border-radius:4px; }
.diagnosis { border-left:3px solid var(--accent); padding:2px 12px; margin:10px 0; }
.fig { width:100%; min-height:200px; }
.fig[data-lazy]:not([data-drawn])::before { content:"drawing the plot\\2026"; color:var(--muted);
                                       font-size:13px; display:block; padding:8px 0; }
table.sortable th { cursor:pointer; user-select:none; }
table.sortable th[aria-sort=ascending]::after { content:" \\25B2"; font-size:10px; }
table.sortable th[aria-sort=descending]::after { content:" \\25BC"; font-size:10px; }
p.fixed { margin:6px 0; } p.fixed .label { color:var(--muted); margin-right:6px; }
"""

# Sorts a table of class "sortable" by the column whose header is clicked (again: the
# other way). Cells sort by their data-v number when they have one, else by their text
# (as a number when it reads as one); empty and missing cells stay last either way.
SORT_JS = """
(function () {
  function key(row, col) {
    var cell = row.cells[col];
    if (!cell) return null;
    var v = cell.getAttribute('data-v');
    if (v !== null) return v === '' ? null : Number(v);
    var t = cell.textContent.trim();
    if (t === '' || t === '-' || t === '\\u2014') return null;
    var n = Number(t);
    return isNaN(n) ? t.toLowerCase() : n;
  }
  function sortTable(table, col, dir) {
    var body = table.tBodies[0];
    var heads = table.tHead.rows[0].cells;
    for (var i = 0; i < heads.length; i++) heads[i].removeAttribute('aria-sort');
    heads[col].setAttribute('aria-sort', dir > 0 ? 'ascending' : 'descending');
    var rows = Array.prototype.map.call(body.rows, function (r, i) {
      return [key(r, col), i, r];
    });
    rows.sort(function (a, b) {
      if (a[0] === null || b[0] === null) {
        return (a[0] === null) - (b[0] === null) || a[1] - b[1];
      }
      var ta = typeof a[0], tb = typeof b[0], c;
      if (ta !== tb) c = ta === 'number' ? -1 : 1;
      else c = a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
      return c * dir || a[1] - b[1];
    });
    rows.forEach(function (r) { body.appendChild(r[2]); });
    table.dataset.sortCol = col;
    table.dataset.sortDir = dir;
  }
  window.tunelabSortTable = sortTable;
  document.addEventListener('click', function (e) {
    var th = e.target.closest ? e.target.closest('table.sortable thead th') : null;
    if (!th) return;
    var table = th.closest('table');
    var dir = th.getAttribute('aria-sort') === 'ascending' ? -1 : 1;
    sortTable(table, th.cellIndex, dir);
  });
})();
"""

# Sorts tables (SORT_JS) and draws the figures listed in the JSON block #tunelab-figures
# into the divs of those ids, each when it comes near the screen: a report of a thousand
# trials opens at once instead of drawing every plot first. Printing draws them all.
# plotly.js waits inert in #tunelab-plotly (type text/plain) until the first plot is
# drawn: evaluating it takes the browser longer than showing the rest of the page, so
# the tables and text come first. It runs as an inline script inserted here, allowed by
# the same hash as if the page held it, so no eval is needed for it.
RENDER_JS = (
    SORT_JS
    + """
(function () {
  var block = document.getElementById('tunelab-figures');
  if (!block) return;
  var figures = JSON.parse(block.textContent);
  var config = {responsive: true, displaylogo: false};
  function plotly() {
    if (!window.Plotly) {
      var inert = document.getElementById('tunelab-plotly');
      var script = document.createElement('script');
      script.textContent = inert.textContent;
      document.head.appendChild(script);  // an inline script runs as it is inserted
      script.remove();  // running it is done; drop the two copies of its 5 MB text
      inert.remove();
    }
    return window.Plotly;
  }
  function draw(div) {
    var fig = figures[div.id];
    if (!fig || div.dataset.drawn) return;
    div.dataset.drawn = '1';
    plotly().newPlot(div, fig.data, fig.layout, config);
  }
  var divs = Object.keys(figures).map(function (id) { return document.getElementById(id); })
    .filter(Boolean);
  window.addEventListener('beforeprint', function () { divs.forEach(draw); });
  if (!('IntersectionObserver' in window)) { divs.forEach(draw); return; }
  var seen = new IntersectionObserver(function (entries) {
    entries.forEach(function (e) {
      if (e.isIntersecting) { seen.unobserve(e.target); draw(e.target); }
    });
  }, {rootMargin: '400px 0px'});
  divs.forEach(function (div) {
    var layout = figures[div.id].layout || {};
    if (layout.height) div.style.minHeight = layout.height + 'px';  // no jumps while waiting
    seen.observe(div);
  });
})();
"""
)


@functools.lru_cache(maxsize=1)
def plotly_js() -> str:
    """The minified plotly.js bundled with the plotly package (about 5 MB)."""
    try:
        from plotly.offline import get_plotlyjs
    except ImportError:
        raise ImportError(
            "reports and the dashboard need plotly: pip install 'tunelab[report]'"
        ) from None
    # Never close the inline <script> early, whatever the bundle contains.
    return str(get_plotlyjs()).replace("</script", "<\\/script")


def script_hash(source: str) -> str:
    """The CSP source that allows exactly this inline script and nothing else."""
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def content_security_policy(scripts: Iterable[str], connect: str = "'none'") -> str:
    """The policy for a page whose scripts come from `scripts` (CSP sources: hashes or
    'self'). Study data reaches the page as text and JSON, so no inline script or event
    handler may run ('unsafe-inline' is never allowed for scripts). 'unsafe-eval' is:
    plotly.js draws parallel coordinates with WebGL through regl, which compiles its draw
    calls with Function(); no study data reaches that code. Plotly sets style attributes
    in the SVG it builds, so styles stay inline; images are data: and blob: URLs only (the
    mode bar's icons and PNG download); the network is `connect` (the dashboard polls its
    own server)."""
    return "; ".join(
        (
            "default-src 'none'",
            f"script-src {' '.join(scripts)} 'unsafe-eval'",
            "style-src 'unsafe-inline'",
            "img-src data: blob:",
            f"connect-src {connect}",
            "base-uri 'none'",
            "form-action 'none'",
        )
    )
