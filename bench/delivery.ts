/**
 * Sampled traces delivered, per benchmark row: of the requests a row's runs answered whose
 * trace the sampler kept, how many reached the collector.
 *
 *  - Which requests were sampled: every access line (ours: `trace.id`; the peer's pino-http
 *    line: `trace_id`) carries its trace id, and the sampler's decision is a pure function
 *    of the trace id (parentbased → traceidratio on a root span, no incoming traceparent in
 *    the bench): the SDK's own TraceIdRatioBasedSampler decides again here.
 *  - Which row: the line's `@timestamp` falls in one of the row's measured runs (warm-ups
 *    excluded; each run's window is taken around the load generator's run).
 *  - Delivered: the collector's file holds a span without parent (the server span) of that
 *    trace id.
 */
import { createReadStream, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ROOT_CONTEXT, SpanKind } from '@opentelemetry/api';
import { otlpLines } from './collector';
import { AlwaysOnSampler, SamplingDecision, TraceIdRatioBasedSampler, type Sampler } from '@opentelemetry/sdk-trace';

export interface RunWindow {
  rowId: string;
  /** Epoch milliseconds. */
  start: number;
  end: number;
}

export interface Delivery {
  /** Answered requests in the row's measured runs whose trace was sampled. */
  sampled: number;
  /** Of those, traces whose server span reached the collector. */
  delivered: number;
}

const OUR_TRACE_ID = /"trace":\{"id":"([0-9a-f]{32})"/;
const PEER_TRACE_ID = /"trace_id":"([0-9a-f]{32})"/;
const TIMESTAMP = /"@timestamp":"([^"]+)"/;

export function samplerFor(ratio: number): Sampler {
  return ratio >= 1 ? new AlwaysOnSampler() : new TraceIdRatioBasedSampler(ratio);
}

/** Whether the SDK's sampler keeps a new (root) trace of this id. */
export function sampledTrace(sampler: Sampler, traceId: string): boolean {
  return sampler.shouldSample(ROOT_CONTEXT, traceId, 'GET', SpanKind.SERVER, {}, []).decision === SamplingDecision.RECORD_AND_SAMPLED;
}

function rowOf(windows: readonly RunWindow[], t: number): string | undefined {
  for (const w of windows) if (t >= w.start && t <= w.end) return w.rowId;
  return undefined;
}

/** Trace ids of sampled requests in every NDJSON file of `dir`, per row (by timestamp). */
export async function sampledTraceIds(dir: string, windows: readonly RunWindow[], ratio: number): Promise<Map<string, Set<string>>> {
  const sampler = samplerFor(ratio);
  const out = new Map<string, Set<string>>();
  if (!existsSync(dir)) return out;
  for (const file of readdirSync(dir).filter((f) => f.includes('.ndjson'))) {
    const lines = createInterface({ input: createReadStream(join(dir, file), { encoding: 'utf8' }), crlfDelay: Infinity });
    for await (const line of lines) {
      const id = (OUR_TRACE_ID.exec(line) ?? PEER_TRACE_ID.exec(line))?.[1];
      const ts = TIMESTAMP.exec(line)?.[1];
      if (id === undefined || ts === undefined) continue;
      const row = rowOf(windows, Date.parse(ts));
      if (row === undefined || !sampledTrace(sampler, id)) continue;
      let ids = out.get(row);
      if (ids === undefined) out.set(row, (ids = new Set()));
      ids.add(id);
    }
  }
  return out;
}

/** Trace ids with a root span in the collector's file exporter output. */
export async function deliveredTraceIds(spanFile: string): Promise<Set<string>> {
  const out = new Set<string>();
  for await (const { batch } of otlpLines(spanFile)) {
    for (const rs of batch.resourceSpans ?? []) {
      for (const ss of rs.scopeSpans ?? []) {
        for (const span of ss.spans ?? []) {
          if ((span.parentSpanId === undefined || span.parentSpanId === '') && span.traceId !== undefined) out.add(span.traceId.toLowerCase());
        }
      }
    }
  }
  return out;
}

export function deliveryOf(sampled: Set<string> | undefined, delivered: Set<string>): Delivery {
  let n = 0;
  for (const id of sampled ?? []) if (delivered.has(id)) n++;
  return { sampled: sampled?.size ?? 0, delivered: n };
}
