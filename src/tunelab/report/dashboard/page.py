"""The dashboard's single page: a list of studies and the selected study's sections,
polled every two seconds and redrawn in place (Plotly.react keeps zoom and menus).

A hash #study=NAME shows a study, #study=NAME&trial=N one of its trials (the trials
table links there). The page holds no inline script: its code is served as /static/dashboard.js, so the
server's Content-Security-Policy allows scripts from the dashboard itself ('self') and
nothing else."""

from __future__ import annotations

from tunelab.report.assets import CSS, FAVICON, SORT_JS, content_security_policy

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
a.trial-link, a.back { color:var(--accent); text-decoration:none; }
"""

_SCRIPT = """
(function () {
  var state = {study: null, trial: null, version: null, timer: null, drawn: {}};
  var config = {responsive: true, displaylogo: false};

  function getJSON(url) {
    return fetch(url, {cache: 'no-store'}).then(function (r) {
      return r.json().then(function (data) {
        if (!r.ok) throw new Error(data.error || r.statusText);
        return data;
      });
    });
  }
  function fromHash() {  // #study=NAME or #study=NAME&trial=N (NAME percent-encoded)
    var m = location.hash.match(/^#study=([^&]*)(?:&trial=(\\d+))?$/);
    return m ? {study: decodeURIComponent(m[1]), trial: m[2] === undefined ? null : +m[2]}
             : {study: null, trial: null};
  }
  function studyHref(name, trial) {
    return '#study=' + encodeURIComponent(name) + (trial === null || trial === undefined ? '' : '&trial=' + trial);
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
      a.href = studyHref(s.name);
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

  // The trial numbers of the trials table (rows keyed by number) link to their pages.
  function linkTrials(body) {
    body.querySelectorAll('table.trials tr[data-key]').forEach(function (row) {
      var cell = row.cells[0];
      var a = document.createElement('a');
      a.href = studyHref(state.study, row.dataset.key);
      a.className = 'trial-link';
      a.textContent = cell.textContent;
      cell.textContent = '';
      cell.appendChild(a);
    });
  }
  function setPath(obj, path, value) {
    var keys = path.split('.');
    for (var i = 0; i < keys.length - 1; i++) {
      if (typeof obj[keys[i]] !== 'object' || obj[keys[i]] === null) obj[keys[i]] = {};
      obj = obj[keys[i]];
    }
    obj[keys[keys.length - 1]] = value;
  }
  // A redraw keeps the entry the user picked in a figure's menu (the learning curves'
  // metric): the new figure gets that entry marked active and that entry's changes
  // applied, so the menu and the plot always name the same thing.
  function keepMenus(div, fig) {
    var before = div.layout && div.layout.updatemenus;
    var now = fig.layout.updatemenus;
    if (!before || !now) return;
    now.forEach(function (menu, m) {
      var old = before[m];
      if (!old || !old.active || !old.buttons[old.active]) return;
      var labels = menu.buttons.map(function (b) { return b.label; });
      var k = labels.indexOf(old.buttons[old.active].label);
      if (k < 1) return;
      menu.active = k;
      var args = menu.buttons[k].args;
      var restyle = args[0] || {}, relayout = args[1] || {};
      Object.keys(restyle).forEach(function (attr) {
        fig.data.forEach(function (trace, i) {
          var v = restyle[attr];
          setPath(trace, attr, Array.isArray(v) ? v[i % v.length] : v);
        });
      });
      Object.keys(relayout).forEach(function (attr) { setPath(fig.layout, attr, relayout[attr]); });
    });
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
        var sorted = body.querySelector('table.sortable[data-sort-col]');
        body.innerHTML = sec.html;  // built and escaped by the server
        body.dataset.html = sec.html;
        linkTrials(body);
        var table = body.querySelector('table.sortable');
        if (sorted && table) {  // a redraw keeps the order the user clicked
          window.tunelabSortTable(table, +sorted.dataset.sortCol, +sorted.dataset.sortDir);
        }
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
          keepMenus(div, f.figure);
          try {
            Plotly.react(div, f.figure.data, f.figure.layout, config);
          } catch (e) {  // one figure plotly.js cannot draw must not stop the others
            console.error('cannot draw ' + f.id + ': ' + e.message);
          }
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
    if (state.trial !== null) {
      var wanted = state.trial;
      return getJSON('api/trial?name=' + encodeURIComponent(state.study) + '&number=' + wanted)
        .then(function (data) {
          if (data.name !== state.study || data.trial !== state.trial) return;
          document.title = 'tunelab dashboard: ' + data.name + ' #' + wanted;
          renderSections(data.sections);
        });
    }
    var url = 'api/study?name=' + encodeURIComponent(state.study) +
      (state.version ? '&since=' + encodeURIComponent(state.version) : '');
    return getJSON(url).then(function (data) {
      if (data.name !== state.study || state.trial !== null || data.unchanged) return;
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

  function go() {
    var where = fromHash();
    state.study = where.study;
    state.trial = where.trial;
  }
  window.addEventListener('hashchange', function () {
    go();
    state.version = null;
    state.drawn = {};
    document.getElementById('content').textContent = '';
    tick();
  });
  go();
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
SCRIPT = SORT_JS + _SCRIPT.replace("POLL_MS", str(POLL_MS))
POLICY = content_security_policy(["'self'"], connect="'self'") + "; frame-ancestors 'none'"
