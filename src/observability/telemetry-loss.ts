/**
 * What the service's own telemetry lost: log lines the log writer could not keep and spans
 * the batch span processor could not deliver, as one counter family on /metrics
 * (`recoscope_telemetry_dropped_total{signal,reason,output}`), so a pipeline that silently
 * turns 10 % sampling into 1 % (or a full disk that eats log lines) pages someone.
 *
 * Span drops are counted here by the SDK side (tracing/sdk.ts); log drops are read from the
 * log writer's own counters at scrape time. The span counters live on `globalThis` (under a
 * registered symbol) for the same reason as the tracing runtime (tracing/state.ts): a
 * `--require` preload and the service's own import may be two copies of this module.
 *
 * Label values form a closed set (below): no free text ever reaches a label.
 */
import { logWriterStats } from './log-writer';

/**
 * Why spans were lost:
 *  - queue_full: the batch processor's queue held OTEL_BSP_MAX_QUEUE_SIZE spans already;
 *  - export_failed: an export call failed (collector down or refusing, timeout, the
 *    exporter's own concurrency limit) and its spans are gone (the SDK does not re-queue);
 *  - shutdown: spans still queued when the bounded tracing shutdown gave up.
 */
export const SPAN_DROP_REASONS = ['queue_full', 'export_failed', 'shutdown'] as const;
export type SpanDropReason = (typeof SPAN_DROP_REASONS)[number];

/**
 * Why log lines were lost (per output, file or stdout):
 *  - queue_full: the output's in-memory queue held LOG_BUFFER_BYTES already (the
 *    destination is slower than the service, or failing and retrying);
 *  - shutdown: lines still queued when the bounded flush at exit gave up, or written after it.
 */
export const LOG_DROP_REASONS = ['queue_full', 'shutdown'] as const;

export interface TelemetryDrop {
  signal: 'log' | 'span';
  reason: string;
  /** file / stdout for logs, otlp for spans. */
  output: string;
  count: number;
}

const SPAN_DROPS = Symbol.for('recoscope.telemetry.span-drops');
type GlobalWithDrops = typeof globalThis & { [SPAN_DROPS]?: Record<SpanDropReason, number> };

function spanDrops(): Record<SpanDropReason, number> {
  const g = globalThis as GlobalWithDrops;
  return (g[SPAN_DROPS] ??= { queue_full: 0, export_failed: 0, shutdown: 0 });
}

/** Counts `count` spans lost for `reason`. */
export function countSpanDrops(reason: SpanDropReason, count: number): void {
  if (count > 0) spanDrops()[reason] += count;
}

/** Spans lost so far, per reason. */
export function spanDropCounts(): Readonly<Record<SpanDropReason, number>> {
  return { ...spanDrops() };
}

/**
 * Every series, zeros included (a counter that exists from the start lets `increase()` see
 * its first drop). Log series exist for the outputs that are configured.
 */
export function telemetryDrops(): TelemetryDrop[] {
  const drops: TelemetryDrop[] = [];
  const stats = logWriterStats();
  for (const output of ['file', 'stdout'] as const) {
    const s = stats[output];
    if (s === undefined) continue;
    drops.push({ signal: 'log', reason: 'queue_full', output, count: s.dropped - s.droppedAtEnd });
    drops.push({ signal: 'log', reason: 'shutdown', output, count: s.droppedAtEnd });
  }
  const spans = spanDrops();
  for (const reason of SPAN_DROP_REASONS) drops.push({ signal: 'span', reason, output: 'otlp', count: spans[reason] });
  return drops;
}
