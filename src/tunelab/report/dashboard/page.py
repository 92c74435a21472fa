"""The dashboard's single page: a list of studies and the selected study's sections,
polled every two seconds and redrawn in place (Plotly.react keeps zoom and menus).

The page holds no inline script: its code is served as /static/dashboard.js, so the
server's Content-Security-Policy allows scripts from the dashboard itself ('self') and
nothing else."""

from __future__ import annotations

from tunelab.report.assets import CSS, FAVICON, content_security_policy

POLL_MS = 2000

_DASHBOARD_CSS = """
body { display:flex; flex-direction:column; min-height:100vh; }
header.top { display:flex; justify-content:space-between; align-items:baseline; }
#status.error { color:#ffb3b3; }
.layout { display:flex; flex:1; }
aside { width:260px; flex:none; background:#fff; border-right:1px solid var(--line); padding:12px; }
aside h2 { font-size:13px; text-transform:uppercase; color:var(--muted); margin:4px 0 8px; }
aside a { display:block; padding:6px 8px; border-radius:4px; color:var(--fg); text-decoration:none; }
aside a.active { background:#e7f0fa; }
aside a .meta { display:block; font-size:12px; color:var(--muted); }
.layout main { flex:1; max-width:none; min-width:0; }
"""

_SCRIPT = """
(function () {
  var state = {study: null, version: null, timer: null, drawn: {}};
  var config = {responsive: true, displaylogo: false};

  function getJSON(url) {
    return fetch(url, {cache: 'no-store'}).then(function (r) {
      return r.json().then(function (data) {
        if (!r.ok) throw new Error(data.error || r.statusText);
        return data;
      });
    });
  }
  function fromHash() {
    var m = location.hash.match(/^#study=(.*)$/);
    return m ? decodeURIComponent(m[1]) : null;
  }
  function setStatus(text, bad) {
    var el = document.getElementById('status');
    el.textContent = text;
    el.className = bad ? 'error' : '';
  }
  function fmt(v) {
    if (v === null || v === undefined) return '-';
    return typeof v === 'number' ? Number(v.toPrecision(4)).toString() : String(v);
  }

  function renderStudies(list) {
    var nav = document.getElementById('studies');
    nav.textContent = '';
    if (!list.length) {
      var p = document.createElement('p');
      p.className = 'note';
      p.textContent = 'no studies in this storage yet';
      nav.appendChild(p);
    }
    list.forEach(function (s) {
      var a = document.createElement('a');
      a.href = '#study=' + encodeURIComponent(s.name);
      a.className = s.name === state.study ? 'active' : '';
      a.dataset.study = s.name;
      a.textContent = s.name;
      var meta = document.createElement('span');
      meta.className = 'meta';
      var c = s.counts;
      meta.textContent = s.trials + ' trials (' + (c.complete || 0) + ' complete, ' +
        (c.running || 0) + ' running' + (c.paused ? ', ' + c.paused + ' paused' : '') +
        (c.lost ? ', ' + c.lost + ' lost' : '') +
        ') \\u00b7 ' + (s.metrics.length > 1 ? 'objectives ' + s.metrics.join(', ') :
        'best ' + s.metric + ' ' + fmt(s.best));
      a.appendChild(meta);
      nav.appendChild(a);
    });
    if (!state.study && list.length) {
      state.study = list[0].name;
      renderStudies(list);
    }
  }

  function sectionNode(sec) {
    var id = 's-' + sec.id;
    var node = document.getElementById(id);
    if (!node) {
      node = document.createElement('section');
      node.className = 'card';
      node.id = id;
      node.innerHTML = '<h2></h2><div class="body"></div><div class="figs"></div>';
    }
    return node;
  }

  function renderSections(sections) {
    var root = document.getElementById('content');
    var keep = {};
    sections.forEach(function (sec) {
      var node = sectionNode(sec);
      keep[node.id] = true;
      node.querySelector('h2').textContent = sec.title;
      var body = node.querySelector('.body');
      if (body.dataset.html !== sec.html) {
        body.innerHTML = sec.html;  // built and escaped by the server
        body.dataset.html = sec.html;
      }
      var figs = node.querySelector('.figs');
      var wanted = sec.figures.map(function (f) { return f.id; });
      Array.prototype.slice.call(figs.children).forEach(function (div) {
        if (wanted.indexOf(div.id) < 0) {
          Plotly.purge(div);
          figs.removeChild(div);
          delete state.drawn[div.id];
        }
      });
      sec.figures.forEach(function (f) {
        var div = document.getElementById(f.id);
        if (!div) {
          div = document.createElement('div');
          div.className = 'fig';
          div.id = f.id;
          figs.appendChild(div);
        }
        var key = JSON.stringify(f.figure);
        if (state.drawn[f.id] !== key) {  // redraw only what changed
          Plotly.react(div, f.figure.data, f.figure.layout, config);
          state.drawn[f.id] = key;
        }
      });
      root.appendChild(node);  // keeps the server's order
    });
    Array.prototype.slice.call(root.children).forEach(function (node) {
      if (!keep[node.id]) {
        node.querySelectorAll('.fig').forEach(function (div) {
          Plotly.purge(div);
          delete state.drawn[div.id];
        });
        root.removeChild(node);
      }
    });
  }

  function refreshStudy() {
    if (!state.study) return Promise.resolve();
    var url = 'api/study?name=' + encodeURIComponent(state.study) +
      (state.version ? '&since=' + encodeURIComponent(state.version) : '');
    return getJSON(url).then(function (data) {
      if (data.name !== state.study || data.unchanged) return;
      state.version = data.version;
      document.title = 'tunelab dashboard: ' + data.name;
      renderSections(data.sections);
    });
  }

  function tick() {
    clearTimeout(state.timer);
    getJSON('api/studies').then(function (list) {
      renderStudies(list);
      return refreshStudy();
    }).then(function () {
      setStatus('live \\u00b7 updated ' + new Date().toLocaleTimeString());
    }).catch(function (e) {
      setStatus('error: ' + e.message, true);
    }).then(function () {
      state.timer = setTimeout(tick, POLL_MS);
    });
  }

  window.addEventListener('hashchange', function () {
    state.study = fromHash();
    state.version = null;
    state.drawn = {};
    document.getElementById('content').textContent = '';
    tick();
  });
  state.study = fromHash();
  tick();
})();
"""

PAGE = (
    '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    f"{FAVICON}<title>tunelab dashboard</title><style>{CSS}{_DASHBOARD_CSS}</style>"
    '<script src="static/plotly.min.js"></script></head><body>'
    '<header class="top"><h1>tunelab dashboard</h1><span class="sub" id="status">loading…</span>'
    "</header>"
    '<div class="layout"><aside><h2>Studies</h2><nav id="studies"></nav></aside>'
    '<main><div id="content"></div></main></div>'
    '<script src="static/dashboard.js"></script></body></html>\n'
)
SCRIPT = _SCRIPT.replace("POLL_MS", str(POLL_MS))
POLICY = content_security_policy(["'self'"], connect="'self'") + "; frame-ancestors 'none'"
