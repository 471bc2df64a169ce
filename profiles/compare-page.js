/*
 * recoscope profile comparison: draws the flamegraphs with d3-flame-graph. Runs in the browser
 * as assets/compare.js of a comparison folder (profiles/compare.ts copies it), after d3,
 * d3-flame-graph and data.js (window.RECOSCOPE_COMPARE). Plain ES2017, no build step.
 */
(function () {
  'use strict';
  var data = window.RECOSCOPE_COMPARE;
  var charts = [];

  function pct(x) { return (x * 100).toFixed(1) + '%'; }
  function pts(x) { var v = x * 100; var s = v.toFixed(1); return (v > 0 && s !== '0.0' ? '+' : '') + (s === '-0.0' ? '0.0' : s); }
  function hash(name) { var h = 0; for (var i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) | 0; return Math.abs(h); }

  /** Frame colour by origin, lightness varied by name so neighbours stay apart. */
  function kindColor(name) {
    var l = hash(name) % 14;
    if (name === 'all') return 'hsl(0,0%,80%)';
    if (/ \[(native|builtin|bytecode|regexp|v8|wasm)\]$/.test(name)) return 'hsl(210,18%,' + (68 + l) + '%)';
    if (/ (src|test)\//.test(name)) return 'hsl(140,50%,' + (52 + l) + '%)';
    if (/ node_modules\//.test(name)) return 'hsl(45,85%,' + (55 + l) + '%)';
    if (/ node:/.test(name)) return 'hsl(22,85%,' + (60 + l) + '%)';
    return 'hsl(280,30%,' + (70 + l) + '%)';
  }

  function selfOf(node) {
    var kids = node.children || [];
    var sum = 0;
    for (var i = 0; i < kids.length; i++) sum += kids[i].value;
    return node.value - sum;
  }

  function runLabel(run) {
    var git = run.git ? run.git.short + (run.git.dirty ? '+dirty' : '') : '?';
    return ' ' + run.scenario + ' · ' + run.run + ' · git ' + git + ' · ' + (run.rps === null ? '?' : run.rps) + ' req/s · ' + run.samples + ' samples';
  }

  function facts(run) {
    var parts = [];
    var ds = run.dataset && (run.dataset.loaded || run.dataset.synthetic);
    if (ds) parts.push('dataset ' + (ds.users || '?') + ' users × ' + (ds.items || '?') + ' items, ' + (ds.interactions || '?') + ' interactions');
    if (run.models && run.models.knnNeighbours) parts.push('K = ' + run.models.knnNeighbours);
    if (run.load) parts.push(run.load.connections + ' connections, ' + run.load.durationSeconds + ' s');
    if (run.latencyMs) parts.push('p50 ' + run.latencyMs.p50 + ' ms, p99 ' + run.latencyMs.p99 + ' ms');
    return parts.join(' · ');
  }

  function draw(id, tree, diff) {
    var el = document.getElementById(id);
    if (!el) return;
    var total = tree.value;
    var chart = flamegraph()
      .width(Math.max(320, el.clientWidth))
      .cellHeight(16)
      .minFrameSize(1)
      .transitionDuration(250)
      .sort(true)
      .selfValue(false)
      .setDetailsElement(document.getElementById('details'));
    if (diff) {
      chart.setColorMapper(flamegraph.colorMapper.differentialColorMapper);
      chart.label(function (d) {
        var n = d.data;
        return n.name + '  —  B ' + pct(n.value / total) + ' (' + n.value + ' samples), A ' + pct(n.shareA) + ', Δ ' + pts(n.value / total - n.shareA) + ' points';
      });
    } else {
      chart.setColorMapper(function (d, original) { return d.highlight ? original : kindColor(d.data.name); });
      chart.label(function (d) {
        var n = d.data;
        return n.name + '  —  ' + pct(n.value / total) + ' of samples (' + n.value + '), self ' + pct(selfOf(n) / total);
      });
    }
    d3.select(el).datum(tree).call(chart);
    charts.push(chart);
  }

  function table() {
    var el = document.getElementById('top-table');
    if (!el) return;
    var head = '<tr><th>frame</th><th>self A</th><th>self B</th><th>Δ points</th></tr>';
    var rows = data.top.map(function (r) {
      var cls = r.delta > 0.0005 ? 'up' : r.delta < -0.0005 ? 'down' : '';
      var name = r.frame.replace(/&/g, '&amp;').replace(/</g, '&lt;');
      return '<tr><td>' + name + '</td><td>' + pct(r.selfA) + '</td><td>' + pct(r.selfB) + '</td><td class="' + cls + '">' + pts(r.delta) + '</td></tr>';
    });
    el.innerHTML = head + rows.join('');
  }

  function text(id, value) { var el = document.getElementById(id); if (el) el.textContent = value; }
  function link(id, href) {
    var el = document.getElementById(id);
    if (!el || !href) return;
    var a = document.createElement('a');
    a.href = href;
    a.textContent = "0x's flamegraph";
    el.appendChild(document.createTextNode(' · '));
    el.appendChild(a);
  }

  text('run-a', runLabel(data.a));
  link('run-a', data.a.flamegraph);
  text('title-a', data.a.label);
  text('facts-a', facts(data.a));
  draw('chart-a', data.a.tree, false);
  // One run alone (a continuous profile's flamegraph.html) has no B, no diff, no table.
  if (data.b) {
    text('run-b', runLabel(data.b));
    link('run-b', data.b.flamegraph);
    text('title-b', data.b.label);
    text('facts-b', facts(data.b));
    draw('chart-b', data.b.tree, false);
    draw('chart-diff', data.diff, true);
    table();
  }

  document.getElementById('search-form').addEventListener('submit', function (event) {
    event.preventDefault();
    var term = document.getElementById('search-input').value;
    charts.forEach(function (c) { c.search(term); });
  });
  document.getElementById('clear-button').addEventListener('click', function () {
    document.getElementById('search-input').value = '';
    charts.forEach(function (c) { c.clear(); });
  });
  document.getElementById('reset-button').addEventListener('click', function () {
    charts.forEach(function (c) { c.resetZoom(); });
  });
  document.body.setAttribute('data-rendered', String(charts.length));
})();
