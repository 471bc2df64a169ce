/**
 * Two profile runs side by side: which frames take a larger or smaller share of the samples
 * in B than in A. Works on the normalised folded stacks, so it compares two routes (knn vs
 * popular) as well as two versions of the code for one route (the two latest knn runs).
 *
 * Shares, not sample counts: the runs have different sample counts (duration, CPU, noise),
 * so every comparison is of fractions of each run's own total.
 */
import { copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import type { LoadSummary } from '../loadtest/load';
import { busyFrames, foldedToTree, frameShares, idleShare, parseFolded, totalSamples, type FlameNode, type Folded, type FrameShare } from './folded';
import { comparePageHtml, COMPARE_PAGE_SCRIPT_FILE, diffPageHtml, flamegraphPageHtml } from './compare-html';
import { markdownTable, mdCode, pct, points } from './report';
import { RUN_FILES, type ProfileMeta } from './run';

export class CompareError extends Error {
  override name = 'CompareError';
}

export interface RunData {
  dir: string;
  /** "<scenario>-<run folder>", e.g. knn-20261123T102918Z-286fa22 */
  label: string;
  scenario: string;
  meta: Partial<ProfileMeta>;
  summary: Partial<LoadSummary>;
  folded: Folded;
  samples: number;
}

export interface DiffNode {
  name: string;
  /** B's samples (the diff graph has B's shape). */
  value: number;
  /** B's samples minus A's, A rescaled to B's total: > 0 grew in B, < 0 shrank. */
  delta: number;
  /** A's inclusive share of this stack, in [0, 1]. */
  shareA: number;
  children: DiffNode[];
}

export interface TopRow {
  frame: string;
  selfA: number;
  selfB: number;
  /** selfB - selfA, as a fraction (×100 = points). */
  delta: number;
}

export interface CompareResult {
  dir: string;
  a: RunData;
  b: RunData;
  rows: TopRow[];
  files: { top: string; diff: string; index: string; data: string };
}

/** The libraries' own dist files, copied next to the pages (no CDN: pages work offline). */
const ASSETS: Array<[pkg: string, file: string]> = [
  ['d3', 'dist/d3.min.js'],
  ['d3-flame-graph', 'dist/d3-flamegraph.min.js'],
  ['d3-flame-graph', 'dist/d3-flamegraph-colorMapper.min.js'],
  ['d3-flame-graph', 'dist/d3-flamegraph.css'],
];

/** A package's folder, found from its entry point (d3's `exports` hide its other files). */
function packageDir(pkg: string): string {
  let dir = dirname(require.resolve(pkg));
  while (dir !== dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === pkg) return dir;
    dir = dirname(dir);
  }
  throw new CompareError(`cannot find the ${pkg} package`);
}

function readJson<T>(path: string): Partial<T> {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Partial<T>;
  } catch {
    return {};
  }
}

function isRunDir(dir: string): boolean {
  return existsSync(join(dir, RUN_FILES.folded));
}

export function loadRun(dir: string): RunData {
  const abs = resolve(dir);
  if (!isRunDir(abs)) throw new CompareError(`${dir} is not a profile run folder (no ${RUN_FILES.folded})`);
  const folded = parseFolded(readFileSync(join(abs, RUN_FILES.folded), 'utf8'));
  const meta = readJson<ProfileMeta>(join(abs, RUN_FILES.meta));
  const summary = readJson<LoadSummary>(join(abs, RUN_FILES.summary));
  const scenario = meta.scenario ?? basename(dirname(abs));
  const run = meta.run ?? basename(abs);
  return { dir: abs, label: `${scenario}-${run}`, scenario, meta, summary, folded, samples: totalSamples(folded) };
}

/** Run folders of a scenario, oldest first (their names start with a UTC timestamp). */
export function scenarioRuns(profilesDir: string, scenario: string): string[] {
  const dir = join(profilesDir, scenario);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name !== 'latest' && !name.startsWith('.') && isRunDir(join(dir, name)))
    .sort()
    .map((name) => join(dir, name));
}

/** The run `profiles/runs/<scenario>/latest` points at, else the newest one. */
function latestRun(profilesDir: string, scenario: string): string | undefined {
  const link = join(profilesDir, scenario, 'latest');
  try {
    if (lstatSync(link).isSymbolicLink()) {
      const target = resolve(dirname(link), readlinkSync(link));
      if (isRunDir(target)) return target;
    }
  } catch {
    // no link: fall back to the newest folder
  }
  return scenarioRuns(profilesDir, scenario).at(-1);
}

/**
 * `<runA> <runB>`: run folders or scenario names (= that scenario's latest run);
 * `<scenario>` alone: its two latest runs, older as A.
 */
export function resolveRuns(args: readonly string[], profilesDir: string): [string, string] {
  const one = (arg: string): string => {
    if (existsSync(arg) && isRunDir(arg)) return resolve(arg);
    if (/^[a-z][a-z0-9_-]*$/.test(arg)) {
      const latest = latestRun(profilesDir, arg);
      if (latest !== undefined) return latest;
      throw new CompareError(`no profile of '${arg}' in ${profilesDir}: run npm run profile -- ${arg} first`);
    }
    throw new CompareError(`${arg} is neither a run folder nor a scenario name`);
  };
  if (args.length === 2) return [one(args[0] as string), one(args[1] as string)];
  if (args.length === 1) {
    const arg = args[0] as string;
    if (!/^[a-z][a-z0-9_-]*$/.test(arg) || isRunDir(arg)) throw new CompareError('one argument must be a scenario name (its two latest runs are compared)');
    const latest = latestRun(profilesDir, arg);
    const runs = scenarioRuns(profilesDir, arg);
    const older = runs.filter((r) => latest === undefined || basename(r) < basename(latest));
    if (latest === undefined || older.length === 0) {
      throw new CompareError(`need two profiles of '${arg}' in ${profilesDir}, found ${runs.length}`);
    }
    return [older.at(-1) as string, latest];
  }
  throw new CompareError(`expected one or two arguments (run folders or scenario names), got ${args.length}`);
}

/** Frames in either run's top `n` by self share, sorted by absolute change. */
export function topRows(a: readonly FrameShare[], b: readonly FrameShare[], n: number): TopRow[] {
  const selfA = new Map(a.map((f) => [f.frame, f.selfShare]));
  const selfB = new Map(b.map((f) => [f.frame, f.selfShare]));
  const frames = new Set([...a.slice(0, n).map((f) => f.frame), ...b.slice(0, n).map((f) => f.frame)]);
  return [...frames]
    .map((frame) => {
      const sa = selfA.get(frame) ?? 0;
      const sb = selfB.get(frame) ?? 0;
      return { frame, selfA: sa, selfB: sb, delta: sb - sa };
    })
    .sort((x, y) => Math.abs(y.delta) - Math.abs(x.delta) || y.selfB - x.selfB || (x.frame < y.frame ? -1 : 1));
}

/**
 * B's frame tree, each node carrying how its inclusive share changed from A: delta is in B's
 * samples (A's count rescaled to B's total), so d3-flame-graph's differential colours —
 * |delta| / value — read as "how much of this frame's width is new".
 */
export function diffTree(a: Folded, b: Folded): DiffNode {
  const treeA = foldedToTree(a);
  const treeB = foldedToTree(b);
  const totalA = treeA.value;
  const totalB = treeB.value;
  const scale = totalA > 0 ? totalB / totalA : 0;
  const walk = (nodeB: FlameNode, nodeA: FlameNode | undefined): DiffNode => {
    const aValue = nodeA?.value ?? 0;
    const kidsA = new Map((nodeA?.children ?? []).map((c) => [c.name, c]));
    return {
      name: nodeB.name,
      value: nodeB.value,
      // Exactly `value` for a frame A never had (the colour mapper's "new frame" case).
      delta: aValue === 0 ? nodeB.value : nodeB.value - aValue * scale,
      shareA: totalA > 0 ? aValue / totalA : 0,
      children: nodeB.children.map((c) => walk(c, kidsA.get(c.name))),
    };
  };
  return walk(treeB, treeA);
}

function runLine(r: RunData): string {
  const git = r.meta.git === undefined ? 'git ?' : `git ${r.meta.git.short}${r.meta.git.dirty === true ? '+dirty' : ''}`;
  const rps = r.summary.rps ?? r.meta.rps;
  const idle = pct(idleShare(frameShares(r.folded)));
  return `${r.scenario} · ${basename(r.dir)} · ${git} · ${rps === undefined ? '? req/s' : `${rps} req/s`} · ${r.samples} samples · ${idle} idle`;
}

export function topMarkdown(a: RunData, b: RunData, rows: readonly TopRow[], n: number): string {
  const table = markdownTable(
    ['frame', 'self A', 'self B', 'Δ (points)'],
    ['left', 'right', 'right', 'right'],
    rows.map((r) => [mdCode(r.frame), pct(r.selfA), pct(r.selfB), points(r.delta)]),
  );
  return [
    `# ${a.label} vs ${b.label}`,
    '',
    `- **A**: ${runLine(a)}`,
    `- **B**: ${runLine(b)}`,
    '',
    `Frames in the top ${n} by self time (share of all samples spent in the frame itself) of A or B, ` +
      'sorted by absolute change; Δ = B − A in percentage points. Idle samples (the event loop waiting ' +
      'in epoll) are left out of the ranking; their share is on the run lines above.',
    '',
    table,
    '',
  ].join('\n');
}

function pageData(dir: string, a: RunData, b: RunData, rows: readonly TopRow[]): unknown {
  const info = (r: RunData): Record<string, unknown> => ({
    label: r.label,
    // 0x's own page of the run, relative to the comparison folder.
    flamegraph: existsSync(join(r.dir, RUN_FILES.flamegraph)) ? relative(dir, join(r.dir, RUN_FILES.flamegraph)) : null,
    scenario: r.scenario,
    run: basename(r.dir),
    git: r.meta.git ?? null,
    rps: r.summary.rps ?? r.meta.rps ?? null,
    latencyMs: r.summary.latencyMs ?? null,
    samples: r.samples,
    dataset: r.meta.dataset ?? null,
    models: r.meta.models === undefined ? null : { ...r.meta.models, trained: undefined },
    load: r.meta.load ?? null,
  });
  return {
    a: { ...info(a), tree: foldedToTree(a.folded) },
    b: { ...info(b), tree: foldedToTree(b.folded) },
    diff: diffTree(a.folded, b.folded),
    top: rows,
  };
}

/** The page libraries and our script, copied into `<dir>/assets/`. */
function copyAssets(dir: string): void {
  const assets = join(dir, 'assets');
  mkdirSync(assets, { recursive: true });
  for (const [pkg, file] of ASSETS) copyFileSync(join(packageDir(pkg), file), join(assets, basename(file)));
  copyFileSync(COMPARE_PAGE_SCRIPT_FILE, join(assets, 'compare.js'));
}

/**
 * One run's flamegraph (flamegraph.html + data.js + assets/) in `dir`, drawn by the comparison
 * pages' script: for runs that have no 0x page of their own (continuous profiles).
 */
export function writeFlamegraphPage(dir: string, title: string, folded: Folded, info: { scenario: string; run: string; samples: number }): void {
  copyAssets(dir);
  const data = { a: { label: `${info.scenario}-${info.run}`, flamegraph: null, git: null, rps: null, latencyMs: null, ...info, tree: foldedToTree(folded) } };
  writeFileSync(join(dir, 'data.js'), `window.RECOSCOPE_COMPARE = ${JSON.stringify(data)};\n`);
  writeFileSync(join(dir, RUN_FILES.flamegraph), flamegraphPageHtml(title));
}

export interface CompareOptions {
  a: string;
  b: string;
  /** Parent of the comparison folder (default profiles/runs/compare). */
  outRoot: string;
  top?: number;
}

export function compareRuns(options: CompareOptions): CompareResult {
  const a = loadRun(options.a);
  const b = loadRun(options.b);
  if (a.samples === 0 || b.samples === 0) throw new CompareError(`${a.samples === 0 ? a.dir : b.dir} has no samples`);
  const n = options.top ?? 15;
  const rows = topRows(busyFrames(frameShares(a.folded)), busyFrames(frameShares(b.folded)), n);
  const dir = join(options.outRoot, `${a.label}-vs-${b.label}`);
  copyAssets(dir);

  const files = {
    top: join(dir, 'top.md'),
    diff: join(dir, 'diff.html'),
    index: join(dir, 'index.html'),
    data: join(dir, 'data.js'),
  };
  writeFileSync(files.top, topMarkdown(a, b, rows, n));
  // A script, not JSON fetched at run time: pages opened from file:// may not fetch.
  writeFileSync(files.data, `window.RECOSCOPE_COMPARE = ${JSON.stringify(pageData(dir, a, b, rows))};\n`);
  const title = `${a.label} vs ${b.label}`;
  writeFileSync(files.diff, diffPageHtml(title));
  writeFileSync(files.index, comparePageHtml(title));
  writeFileSync(
    join(dir, 'compare.json'),
    `${JSON.stringify({ a: { dir: a.dir, label: a.label, samples: a.samples }, b: { dir: b.dir, label: b.label, samples: b.samples }, top: rows }, null, 2)}\n`,
  );
  return { dir, a, b, rows, files };
}
