/**
 * The A/B report's core: per-arm counts (from Elasticsearch, or from log records the service
 * wrote — the same ECS documents) → CTR with its Wilson interval, the z-test of each arm against
 * the control, the minimum detectable effect, a verdict; and the renderings (terminal, Markdown,
 * HTML).
 *
 * Join rule (shared with the service): a recommendation was clicked when at least one feedback
 * line with event "click" carries its recommendation id; its arm and version are those of the
 * ACCESS line with that id. A clicked id without any access line is an orphan: counted, shown,
 * never attributed.
 */
import { ACCESS_DATASET, FEEDBACK_DATASET } from '../src/contracts';
import { formatTable } from '../evaluation/table';
import { getField as getPath, type LogDocument } from '../elk/log-search';

export type { LogDocument };
import type { Interval } from './stats';
import { ALPHA, enoughData, MIN_EXPECTED_CLICKS, MIN_RECOMMENDATIONS, minimumDetectableEffect, POWER, twoProportionZTest, wilsonInterval } from './stats';

export interface LatencyMs {
  p50: number;
  p99: number;
}

/** What the report counts for one arm; every number is an exact count, not a sample. */
export interface ArmCounts {
  arm: string;
  /** Access lines of the arm (every status). */
  requests: number;
  /** 5xx answers. */
  errors: number;
  /** 4xx answers. */
  clientErrors: number;
  /** Access lines carrying a recommendation id (the 200s): the CTR's denominator. */
  recommendations: number;
  /** Recommendations with at least one click (join rule above): the CTR's numerator. */
  clicked: number;
  /** `reco.model_version` / `reco.model` values on the arm's access lines. */
  versions: string[];
  models: string[];
  latencyMs?: LatencyMs;
}

export interface ExperimentCounts {
  experiment: string;
  arms: ArmCounts[];
  /** Distinct recommendation ids with a click feedback line (any experiment). */
  clickedIds: number;
  /** Of those, ids no access line carries. */
  orphanClicks: number;
  /** Where the latency came from. */
  latencySource: string;
}

const text = (doc: LogDocument, path: string): string | undefined => {
  const v = getPath(doc, path);
  return typeof v === 'string' ? v : undefined;
};

/** Nearest-rank percentile of an ascending array (the same rule as bench/stats.ts). */
function nearestRank(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

/**
 * The counts of one experiment from log documents (the service's NDJSON lines or the log
 * writer's memory output): the report's computation without Elasticsearch, for tests and for a
 * log file at hand.
 */
export function countsFromDocuments(documents: Iterable<LogDocument>, experiment: string): ExperimentCounts {
  const arms = new Map<string, { counts: ArmCounts; durations: number[]; versions: Set<string>; models: Set<string> }>();
  const armOfId = new Map<string, string>();
  const anyAccessId = new Set<string>();
  const clickedIds = new Set<string>();
  for (const doc of documents) {
    const dataset = text(doc, 'event.dataset');
    const id = text(doc, 'reco.recommendation_id');
    if (dataset === FEEDBACK_DATASET) {
      if (id !== undefined && text(doc, 'reco.feedback_event') === 'click') clickedIds.add(id);
      continue;
    }
    if (dataset !== ACCESS_DATASET) continue;
    if (id !== undefined) anyAccessId.add(id);
    if (text(doc, 'reco.experiment') !== experiment) continue;
    const arm = text(doc, 'reco.arm') ?? '(none)';
    let entry = arms.get(arm);
    if (entry === undefined) {
      entry = {
        counts: { arm, requests: 0, errors: 0, clientErrors: 0, recommendations: 0, clicked: 0, versions: [], models: [] },
        durations: [],
        versions: new Set(),
        models: new Set(),
      };
      arms.set(arm, entry);
    }
    const c = entry.counts;
    c.requests++;
    const status = Number(getPath(doc, 'http.response.status_code'));
    if (status >= 500) c.errors++;
    else if (status >= 400) c.clientErrors++;
    if (id !== undefined) {
      c.recommendations++;
      armOfId.set(id, arm);
    }
    const version = text(doc, 'reco.model_version');
    if (version !== undefined) entry.versions.add(version);
    const model = text(doc, 'reco.model');
    if (model !== undefined) entry.models.add(model);
    const ns = Number(getPath(doc, 'event.duration'));
    if (Number.isFinite(ns)) entry.durations.push(ns / 1e6);
  }
  let orphanClicks = 0;
  for (const id of clickedIds) {
    const arm = armOfId.get(id);
    if (arm !== undefined) (arms.get(arm) as { counts: ArmCounts }).counts.clicked++;
    else if (!anyAccessId.has(id)) orphanClicks++;
  }
  const out: ArmCounts[] = [];
  for (const { counts, durations, versions, models } of arms.values()) {
    durations.sort((a, b) => a - b);
    out.push({
      ...counts,
      versions: [...versions].sort(),
      models: [...models].sort(),
      ...(durations.length > 0 ? { latencyMs: { p50: nearestRank(durations, 50), p99: nearestRank(durations, 99) } } : {}),
    });
  }
  out.sort((a, b) => a.arm.localeCompare(b.arm));
  return { experiment, arms: out, clickedIds: clickedIds.size, orphanClicks, latencySource: 'log records (nearest rank)' };
}

export interface OfflineScores {
  map?: number;
  ndcg?: number;
}

/** The registry's offline scores of a served version (undefined: not in the registry). */
export type OfflineLookup = (model: string | undefined, version: string | undefined) => OfflineScores | undefined;

export type Verdict = 'control' | 'significant' | 'not significant' | 'not enough data';

export interface ArmRow extends ArmCounts {
  /** Share of the experiment's requests, and the configured weight share when known. */
  share: number;
  weightShare?: number;
  ctr: number;
  ctrInterval: Interval;
  offline?: OfflineScores;
  /** Against the control (absent on the control's own row). */
  difference?: number;
  z?: number;
  pValue?: number;
  /** Absolute CTR difference detectable at ALPHA/POWER with these arm sizes. */
  mde?: number;
  verdict: Verdict;
}

export interface AbReport {
  experiment: string;
  control: string;
  alpha: number;
  power: number;
  arms: ArmRow[];
  clickedIds: number;
  orphanClicks: number;
  latencySource: string;
  /** Human-readable: what was read (index, time range). */
  source: string;
  generatedAt: string;
}

export interface ReportOptions {
  /** The control arm; default: an arm named "control", else the first configured, else the largest. */
  control?: string;
  /** Configured weights by arm name (from the experiments file), for the split column. */
  weights?: Record<string, number>;
  offline?: OfflineLookup;
  source: string;
  alpha?: number;
  power?: number;
  now?: Date;
}

export function chooseControl(counts: ExperimentCounts, options: Pick<ReportOptions, 'control' | 'weights'>): string {
  const names = counts.arms.map((a) => a.arm);
  if (options.control !== undefined) {
    if (!names.includes(options.control)) throw new Error(`control arm "${options.control}" has no requests in experiment "${counts.experiment}" (arms: ${names.join(', ') || 'none'})`);
    return options.control;
  }
  if (names.includes('control')) return 'control';
  const firstConfigured = Object.keys(options.weights ?? {}).find((n) => names.includes(n));
  if (firstConfigured !== undefined) return firstConfigured;
  const largest = [...counts.arms].sort((a, b) => b.recommendations - a.recommendations)[0];
  if (largest === undefined) throw new Error(`experiment "${counts.experiment}" has no access lines`);
  return largest.arm;
}

export function buildReport(counts: ExperimentCounts, options: ReportOptions): AbReport {
  const alpha = options.alpha ?? ALPHA;
  const power = options.power ?? POWER;
  const control = chooseControl(counts, options);
  const controlCounts = counts.arms.find((a) => a.arm === control) as ArmCounts;
  const total = counts.arms.reduce((s, a) => s + a.requests, 0);
  const weightTotal = Object.values(options.weights ?? {}).reduce((s, w) => s + w, 0);
  const arms = counts.arms.map((a): ArmRow => {
    const weight = options.weights?.[a.arm];
    const offline = options.offline?.(a.models[0], a.versions[0]);
    const row: ArmRow = {
      ...a,
      share: total > 0 ? a.requests / total : Number.NaN,
      ...(weight !== undefined && weightTotal > 0 ? { weightShare: weight / weightTotal } : {}),
      ctr: a.recommendations > 0 ? a.clicked / a.recommendations : Number.NaN,
      ctrInterval: wilsonInterval(a.clicked, a.recommendations, 1 - alpha),
      ...(offline !== undefined ? { offline } : {}),
      verdict: 'control',
    };
    if (a.arm === control) return row;
    const c = controlCounts;
    const mde = minimumDetectableEffect(c.recommendations > 0 ? c.clicked / c.recommendations : Number.NaN, c.recommendations, a.recommendations, alpha, power);
    if (!enoughData(c.clicked, c.recommendations, a.clicked, a.recommendations)) return { ...row, mde, verdict: 'not enough data' };
    const test = twoProportionZTest(c.clicked, c.recommendations, a.clicked, a.recommendations);
    return { ...row, difference: test.difference, z: test.z, pValue: test.pValue, mde, verdict: test.pValue < alpha ? 'significant' : 'not significant' };
  });
  // The control first, then the others by name: the order a reader compares in.
  arms.sort((x, y) => (x.arm === control ? -1 : y.arm === control ? 1 : x.arm.localeCompare(y.arm)));
  return {
    experiment: counts.experiment,
    control,
    alpha,
    power,
    arms,
    clickedIds: counts.clickedIds,
    orphanClicks: counts.orphanClicks,
    latencySource: counts.latencySource,
    source: options.source,
    generatedAt: (options.now ?? new Date()).toISOString(),
  };
}

const pct = (x: number | undefined, digits = 2): string => (x === undefined || !Number.isFinite(x) ? '—' : `${(x * 100).toFixed(digits)} %`);
const num = (x: number | undefined, digits: number): string => (x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(digits));
const signedPct = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '—' : `${x >= 0 ? '+' : '−'}${Math.abs(x * 100).toFixed(2)} pp`);
const pValue = (p: number | undefined): string => (p === undefined ? '—' : p < 1e-4 ? p.toExponential(1) : p.toFixed(4));

export const REPORT_HEADER = [
  'arm',
  'model@version',
  'share (weight)',
  'requests',
  '5xx',
  '4xx',
  'p50 ms',
  'p99 ms',
  'recos',
  'clicked',
  'CTR',
  '95% CI',
  'Δ vs control',
  'p-value',
  'MDE',
  'verdict',
  'MAP@10',
  'NDCG@10',
] as const;

/** The report's rows as cells, in REPORT_HEADER's order. */
export function reportCells(report: AbReport): string[][] {
  return report.arms.map((a) => [
    a.arm,
    `${a.models.join(',') || '?'}@${a.versions.join(',') || '?'}`,
    `${pct(a.share, 1)} (${pct(a.weightShare, 1)})`,
    String(a.requests),
    String(a.errors),
    String(a.clientErrors),
    num(a.latencyMs?.p50, 1),
    num(a.latencyMs?.p99, 1),
    String(a.recommendations),
    String(a.clicked),
    pct(a.ctr),
    `${pct(a.ctrInterval.low)} – ${pct(a.ctrInterval.high)}`,
    signedPct(a.difference),
    pValue(a.pValue),
    a.mde === undefined ? '—' : `±${(a.mde * 100).toFixed(2)} pp`,
    a.verdict,
    num(a.offline?.map, 4),
    num(a.offline?.ndcg, 4),
  ]);
}

/** The lines around the table: what was read, the method, the sample rule, orphans. */
export function reportNotes(report: AbReport): string[] {
  return [
    `experiment "${report.experiment}", control arm "${report.control}"; ${report.source}; generated ${report.generatedAt}`,
    `CTR = recommendations with ≥ 1 click / recommendations; 95 % Wilson interval; two-sided two-proportion z-test (pooled) against the control at alpha ${report.alpha};`,
    `MDE = absolute CTR difference detectable at alpha ${report.alpha}, power ${report.power} with these arm sizes; latency: ${report.latencySource}.`,
    `Below ${MIN_RECOMMENDATIONS} recommendations per arm or ${MIN_EXPECTED_CLICKS} expected clicks (or non-clicks) at the pooled CTR the verdict is "not enough data".`,
    `Units are assumed independent (one recommendation per user, as the simulator sends): users asking many times make the intervals too narrow.`,
    `clicked recommendation ids: ${report.clickedIds}; without an access line (orphans, not attributed): ${report.orphanClicks}.`,
  ];
}

const ALIGN: ('l' | 'r')[] = REPORT_HEADER.map((h) => (['arm', 'model@version', 'verdict'].includes(h) ? 'l' : 'r'));

export function renderTerminal(report: AbReport): string {
  return [formatTable([...REPORT_HEADER], reportCells(report), ALIGN), '', ...reportNotes(report)].join('\n');
}

export function renderMarkdown(report: AbReport): string {
  return [
    `# A/B report: ${report.experiment}`,
    '',
    formatTable([...REPORT_HEADER], reportCells(report), ALIGN),
    '',
    ...reportNotes(report).map((l) => `- ${l}`),
    '',
  ].join('\n');
}

const escapeHtml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function renderHtml(report: AbReport): string {
  const head = REPORT_HEADER.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const rows = reportCells(report)
    .map((cells, r) => {
      const verdict = report.arms[r]?.verdict ?? '';
      return `<tr class="${escapeHtml(verdict.replace(/ /g, '-'))}">${cells.map((c, i) => `<td${ALIGN[i] === 'r' ? ' class="num"' : ''}>${escapeHtml(c)}</td>`).join('')}</tr>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A/B report: ${escapeHtml(report.experiment)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:4px 8px}
td.num{text-align:right;font-variant-numeric:tabular-nums}tr.significant td{background:#e6f4ea}tr.not-enough-data td{color:#777}</style></head>
<body><h1>A/B report: ${escapeHtml(report.experiment)}</h1>
<table><thead><tr>${head}</tr></thead><tbody>
${rows}
</tbody></table>
<ul>${reportNotes(report)
    .map((l) => `<li>${escapeHtml(l)}</li>`)
    .join('')}</ul>
</body></html>
`;
}
