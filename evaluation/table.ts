/** The printed tables: Markdown pipe tables, so a run's output pastes into the README as is. */
import type { EvaluationResult } from './evaluate';
import type { MetricKey } from './metrics';
import { METRIC_KEYS, METRIC_LABELS } from './metrics';

/** How a metric value is printed: coverage is a count of items, the rest 4 decimals. */
export function formatValue(key: MetricKey, value: number): string {
  return key === 'coverage' ? String(Math.round(value)) : value.toFixed(4);
}

export function formatTable(header: string[], rows: string[][], align: ('l' | 'r')[]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const cell = (text: string, c: number): string => (align[c] === 'r' ? text.padStart(widths[c] ?? 0) : text.padEnd(widths[c] ?? 0));
  const line = (cells: string[]): string => `| ${cells.map(cell).join(' | ')} |`;
  const rule = `|${widths.map((w, c) => (align[c] === 'r' ? `${'-'.repeat(w + 1)}:` : `:${'-'.repeat(w + 1)}`)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/** Column titles of the models × metrics table, in order. */
export function metricsHeader(k: number): string[] {
  return [
    'model',
    ...METRIC_KEYS.map((key) => (key === 'popularFill' ? METRIC_LABELS[key] : `${METRIC_LABELS[key]}@${k}`)),
    'train ms',
    'artifact bytes',
    'reco p50 µs',
    'reco p99 µs',
  ];
}

export function metricsTable(result: EvaluationResult): string {
  const rows = result.models.map((m) => [
    m.model,
    ...METRIC_KEYS.map((key) => formatValue(key, m.metrics[key])),
    String(m.trainMs),
    String(m.artifactBytes),
    m.recommendP50Us.toFixed(1),
    m.recommendP99Us.toFixed(1),
  ]);
  return formatTable(metricsHeader(result.k), rows, ['l', ...METRIC_KEYS.map(() => 'r' as const), 'r', 'r', 'r', 'r']);
}

const n = (x: number): string => x.toLocaleString('en-US');

/** The parts' sizes, one line each. */
export function sizesLines(result: EvaluationResult): string[] {
  const s = result.sizes;
  const line = (label: string, p: { users: number; items: number; interactions: number }): string =>
    `  ${label.padEnd(10)} ${n(p.users).padStart(10)} users ${n(p.items).padStart(8)} items ${n(p.interactions).padStart(11)} interactions`;
  return [
    line('dataset', result.dataset),
    line('train', s.train),
    line('test', s.test),
    line('  warm', s.warmTest),
    line('  cold', s.coldTest),
  ];
}

/** Parses a table printed by metricsTable back into model → column → cell (for tests and tools). */
export function parseTable(text: string): Map<string, Map<string, string>> {
  const lines = text.split('\n').filter((l) => l.startsWith('| '));
  const split = (l: string): string[] =>
    l
      .slice(1, -1)
      .split('|')
      .map((c) => c.trim());
  const [head, ...body] = lines;
  if (head === undefined) return new Map();
  const columns = split(head);
  const out = new Map<string, Map<string, string>>();
  for (const row of body) {
    const cells = split(row);
    out.set(cells[0] ?? '', new Map(columns.map((c, i) => [c, cells[i] ?? ''])));
  }
  return out;
}
