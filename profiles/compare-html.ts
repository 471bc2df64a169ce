/**
 * The comparison pages: index.html (A and B side by side, the differential graph under them,
 * the top-frames table) and diff.html (the differential graph alone). Drawn in the browser by
 * d3-flame-graph from data.js; the library files are copied into assets/ beside them.
 */
import { join } from 'node:path';
import { PROJECT_ROOT } from '../src/paths';

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const STYLE = `
  :root { color-scheme: light; }
  body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; padding: 16px 20px 24px; color: #1d1d1f; background: #fff; }
  h1 { font-size: 20px; margin: 0 0 6px; }
  h2 { font-size: 15px; margin: 0 0 4px; }
  .runs { margin: 0 0 10px; color: #444; }
  .runs b { display: inline-block; width: 1.2em; }
  .toolbar { display: flex; gap: 8px; align-items: center; margin: 0 0 14px; flex-wrap: wrap; }
  .toolbar input { width: 260px; padding: 3px 6px; }
  .pair { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
  .panel { border: 1px solid #ddd; border-radius: 6px; padding: 10px 12px; margin-bottom: 16px; min-width: 0; }
  .facts { margin: 0 0 8px; color: #555; font-size: 12px; }
  .chart { width: 100%; overflow: hidden; }
  .legend { margin: 0 0 8px; font-size: 12px; color: #444; }
  .swatch { display: inline-block; width: 12px; height: 12px; vertical-align: -2px; margin: 0 4px 0 10px; border: 1px solid #999; }
  table { border-collapse: collapse; font-size: 12px; }
  th, td { padding: 3px 10px; border-bottom: 1px solid #eee; text-align: right; }
  th:first-child, td:first-child { text-align: left; font-family: ui-monospace, Menlo, Consolas, monospace; }
  td.up { color: #b3261e; } td.down { color: #1f5fbf; }
  #details { position: sticky; top: 0; z-index: 5; margin: 0 0 12px; padding: 4px 8px; background: #f6f6f6; border: 1px solid #ddd;
             border-radius: 4px; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; white-space: pre;
             overflow: hidden; text-overflow: ellipsis; min-height: 1.4em; }
  .kinds span { margin-right: 10px; }
`;

const LEGEND_DIFF = `
  <p class="legend">Width and shape are B's. Colour compares each frame's share of all samples (inclusive) in B with A,
  so runs with different sample counts compare:
  <span class="swatch" style="background:rgb(220,70,70)"></span>grew in B
  <span class="swatch" style="background:rgb(70,70,220)"></span>shrank in B
  <span class="swatch" style="background:rgb(255,190,90)"></span>new in B
  <span class="swatch" style="background:rgb(220,220,220)"></span>unchanged — the stronger the colour, the larger the change
  relative to the frame's width. Frames that exist only in A are not drawn; their loss shows in their parents.</p>`;

const LEGEND_KINDS = `
  <p class="legend kinds">Colour = where the code lives:
  <span class="swatch" style="background:hsl(140,50%,58%)"></span>our code (src/)
  <span class="swatch" style="background:hsl(45,85%,60%)"></span>dependencies (node_modules)
  <span class="swatch" style="background:hsl(22,85%,64%)"></span>Node.js internals
  <span class="swatch" style="background:hsl(210,18%,74%)"></span>native / V8. Width = share of samples, height = stack depth;
  a frame's self time is the part of its top edge with nothing above it.</p>`;

function scripts(): string {
  return ['assets/d3.min.js', 'assets/d3-flamegraph.min.js', 'assets/d3-flamegraph-colorMapper.min.js', 'data.js', 'assets/compare.js']
    .map((src) => `<script src="${src}"></script>`)
    .join('\n');
}

function header(title: string, single: boolean): string {
  const runs = single ? '<p class="runs"><span id="run-a"></span></p>' : '<p class="runs"><b>A</b><span id="run-a"></span><br><b>B</b><span id="run-b"></span></p>';
  const links = single ? '' : '\n  <a href="index.html">side by side</a> · <a href="diff.html">differential only</a> · <a href="top.md">top.md</a>';
  return `<h1>${escapeHtml(title)}</h1>
${runs}
<form class="toolbar" id="search-form">
  <input id="search-input" type="search" placeholder="highlight frames matching a regexp, e.g. scoreStage" aria-label="search frames">
  <button type="submit">Search</button> <button type="button" id="clear-button">Clear</button>
  <button type="button" id="reset-button">Reset zoom</button>${links}
</form>
<div id="details">hover a frame for its name and shares; click to zoom</div>`;
}

const TOP_SECTION = `<section class="panel"><h2>Top frames by self time (share of all samples), Δ = B − A in points</h2>
<table id="top-table"></table></section>`;

const DIFF_SECTION = `<section class="panel"><h2>Differential flamegraph: B coloured by change from A</h2>${LEGEND_DIFF}
<div class="chart" id="chart-diff"></div></section>`;

function page(title: string, view: 'index' | 'diff' | 'single', body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="stylesheet" href="assets/d3-flamegraph.css">
<style>${STYLE}</style>
</head>
<body data-view="${view}">
${header(title, view === 'single')}
${body}
${scripts()}
</body>
</html>
`;
}

export function comparePageHtml(title: string): string {
  return page(
    title,
    'index',
    `<section class="pair">
  <div class="panel"><h2>A · <span id="title-a"></span></h2><p class="facts" id="facts-a"></p><div class="chart" id="chart-a"></div></div>
  <div class="panel"><h2>B · <span id="title-b"></span></h2><p class="facts" id="facts-b"></p><div class="chart" id="chart-b"></div></div>
</section>
${LEGEND_KINDS}
${DIFF_SECTION}
${TOP_SECTION}`,
  );
}

export function diffPageHtml(title: string): string {
  return page(title, 'diff', `${DIFF_SECTION}\n${TOP_SECTION}`);
}

/** One run's flamegraph alone (a continuous profile's flamegraph.html). */
export function flamegraphPageHtml(title: string): string {
  return page(
    title,
    'single',
    `<section class="panel"><h2><span id="title-a"></span></h2><div class="chart" id="chart-a"></div></section>
${LEGEND_KINDS}`,
  );
}

/**
 * assets/compare.js, the pages' browser script: profiles/compare-page.js (plain ES2017, globals
 * d3 and flamegraph, linted with browser globals by eslint.config.mjs), copied as is.
 */
export const COMPARE_PAGE_SCRIPT_FILE = join(PROJECT_ROOT, 'profiles', 'compare-page.js');
