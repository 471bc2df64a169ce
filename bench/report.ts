/** Renders benchmark results as the printed text and as bench/results.md. */
import { fmtBytes, fmtInt, fmtMs, fmtPct, fmtRatio, fmtSeconds, markdownTable, textTable, type Column } from './format';
import { machineLines, type MachineInfo } from './machine';
import type { RecommendProbeResult } from './probes/recommend';
import type { TrainProbeResult } from './probes/train';
import type { RowResult } from './summary';
import type { TargetCheck } from './stats';

export interface DatasetFigures {
  label: string;
  status: 'ok' | 'skipped' | 'failed';
  reason?: string;
  train?: TrainProbeResult;
  recommend?: RecommendProbeResult;
}

export interface Settings {
  mode: 'full' | 'quick';
  rounds: number;
  durationSeconds: number;
  warmupSeconds: number;
  connections: number;
  pinning: string;
  collector: string;
}

export interface BenchReport {
  machine: MachineInfo;
  settings: Settings;
  rows: RowResult[];
  datasets: DatasetFigures[];
  targets: TargetCheck[];
  notes: string[];
  failed: boolean;
}

export const THROUGHPUT_COLUMNS: Column[] = [
  { header: 'target', align: 'left' },
  { header: 'rps', align: 'right' },
  { header: 'p50 ms', align: 'right' },
  { header: 'p99 ms', align: 'right' },
  { header: 'errors', align: 'right' },
  { header: 'non-2xx', align: 'right' },
  { header: 'vs Express', align: 'right' },
  { header: 'vs obs off', align: 'right' },
  { header: 'server CPU', align: 'right' },
  { header: 'CPU µs/req', align: 'right' },
  { header: 'CPU/req vs off', align: 'right' },
  { header: 'loadgen CPU', align: 'right' },
  { header: 'traces delivered', align: 'right' },
  { header: 'status', align: 'left' },
];

/** Share of sampled traces that reached the collector, with the counts. */
function deliveryCell(row: RowResult): string {
  const d = row.delivery;
  if (d === undefined) return '';
  if (d.sampled === 0) return '— (0 sampled)';
  return `${((d.delivered / d.sampled) * 100).toFixed(1)}% of ${fmtInt(d.sampled)}`;
}

export function throughputCells(row: RowResult): string[] {
  if (row.status === 'skipped') {
    return [row.spec.label, '—', '—', '—', '—', '—', '—', '—', '—', '—', '—', '—', '—', `skipped: ${row.reason ?? ''}`];
  }
  return [
    row.spec.label,
    fmtInt(row.rps),
    fmtMs(row.p50Ms),
    fmtMs(row.p99Ms),
    fmtInt(row.errors),
    fmtInt(row.non2xx),
    fmtRatio(row.vsExpress),
    row.spec.observability === undefined && row.spec.peer === undefined ? '' : fmtRatio(row.vsObsOff),
    fmtPct(row.serverCpu),
    fmtInt(row.cpuUsPerRequest),
    (row.spec.observability === undefined && row.spec.peer === undefined) || row.spec.rate !== undefined ? '' : fmtRatio(row.cpuVsObsOff),
    fmtPct(row.generatorCpu),
    deliveryCell(row),
    row.status === 'ok' ? 'ok' : `FAILED: ${row.reason ?? ''}`,
  ];
}

export const MODEL_COLUMNS: Column[] = [
  { header: 'dataset', align: 'left' },
  { header: 'users', align: 'right' },
  { header: 'items', align: 'right' },
  { header: 'interactions', align: 'right' },
  { header: 'generate', align: 'right' },
  { header: 'train (all models)', align: 'right' },
  { header: 'train knn', align: 'right' },
  { header: 'peak RSS', align: 'right' },
  { header: 'alloc/call popular', align: 'right' },
  { header: 'alloc/call knn', align: 'right' },
  { header: 'knn call p50/p99 µs', align: 'right' },
];

export function modelCells(d: DatasetFigures): string[] {
  const t = d.train;
  const r = d.recommend;
  const size = t ?? r;
  const cost = (name: string) => r?.models.find((m) => m.model === name);
  const knn = cost('knn');
  const cells = [
    d.label,
    fmtInt(size?.users),
    fmtInt(size?.items),
    fmtInt(size?.interactions),
    fmtSeconds(t === undefined ? undefined : t.loadMs / 1000),
    fmtSeconds(t === undefined ? undefined : t.totalTrainMs / 1000),
    fmtSeconds(t?.trainMs.knn === undefined ? undefined : t.trainMs.knn / 1000),
    fmtBytes(t?.maxRssBytes),
    fmtBytes(cost('popular')?.bytesPerCall),
    fmtBytes(knn?.bytesPerCall),
    knn === undefined ? '—' : `${knn.p50Us.toFixed(0)} / ${knn.p99Us.toFixed(0)}`,
  ];
  if (d.status !== 'ok') cells[0] = `${d.label} (${d.status}: ${d.reason ?? ''})`;
  return cells;
}

export const TARGET_COLUMNS: Column[] = [
  { header: 'target', align: 'left' },
  { header: 'goal', align: 'right' },
  { header: 'measured', align: 'right' },
  { header: 'verdict', align: 'left' },
  { header: 'note', align: 'left' },
];

export function targetCells(t: TargetCheck): string[] {
  return [t.name, t.goal, t.measured, t.verdict, t.note ?? ''];
}

function settingsLine(s: Settings): string {
  return (
    `Mode ${s.mode}: ${s.rounds} rounds × ${s.durationSeconds} s per target (targets interleaved, order rotated each round), ` +
    `${s.warmupSeconds} s warm-up each, ${s.connections} connections, medians over rounds; ${s.pinning}; collector: ${s.collector}`
  );
}

export function renderText(r: BenchReport): string {
  return [
    ...machineLines(r.machine),
    settingsLine(r.settings),
    '',
    textTable(THROUGHPUT_COLUMNS, r.rows.map(throughputCells)),
    '',
    'Models: training time, peak RSS, allocation and time per recommend() call',
    textTable(MODEL_COLUMNS, r.datasets.map(modelCells)),
    '',
    'Targets (reported, not asserted)',
    textTable(TARGET_COLUMNS, r.targets.map(targetCells)),
    ...(r.notes.length > 0 ? ['', ...r.notes.map((n) => `note: ${n}`)] : []),
    '',
    r.failed ? 'RESULT: FAILED (a row had errors or non-2xx responses, or a server failed)' : 'RESULT: ok',
  ].join('\n');
}

export function renderMarkdown(r: BenchReport): string {
  return [
    '# recoscope benchmark results',
    '',
    ...machineLines(r.machine).map((l) => `- ${l}`),
    `- ${settingsLine(r.settings)}`,
    '',
    '## Throughput and latency',
    '',
    markdownTable(THROUGHPUT_COLUMNS, r.rows.map(throughputCells)),
    '',
    '## Models',
    '',
    markdownTable(MODEL_COLUMNS, r.datasets.map(modelCells)),
    '',
    '## Targets (reported, not asserted)',
    '',
    markdownTable(TARGET_COLUMNS, r.targets.map(targetCells)),
    ...(r.notes.length > 0 ? ['', '## Notes', '', ...r.notes.map((n) => `- ${n}`)] : []),
    '',
    r.failed ? '**RESULT: FAILED** (a row had errors or non-2xx responses, or a server failed)' : 'RESULT: ok',
    '',
  ].join('\n');
}
