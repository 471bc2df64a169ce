/** Which requests the bench counts as sampled, per row, and which of them were delivered. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT_CONTEXT, SpanKind } from '@opentelemetry/api';
import { ParentBasedSampler, SamplingDecision, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace';
import { deliveredTraceIds, deliveryOf, sampledTrace, sampledTraceIds, samplerFor } from '../../bench/delivery';

const id = (n: number): string => n.toString(16).padStart(32, '0').replace(/^0/, 'a');

describe('bench delivery counting', () => {
  it('decides sampling as the service\'s parent-based ratio sampler does for a new trace', () => {
    const service = new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0.1) });
    const mine = samplerFor(0.1);
    let kept = 0;
    for (let i = 0; i < 2000; i++) {
      const traceId = `${(i * 2654435761).toString(16).padStart(16, '0').slice(-16)}${(i * 40503).toString(16).padStart(16, '0').slice(-16)}`;
      const expected = service.shouldSample(ROOT_CONTEXT, traceId, 'GET', SpanKind.SERVER, {}, []).decision === SamplingDecision.RECORD_AND_SAMPLED;
      assert.equal(sampledTrace(mine, traceId), expected);
      if (expected) kept++;
    }
    assert.ok(kept > 0 && kept < 2000);
    assert.equal(sampledTrace(samplerFor(1), id(1)), true);
  });

  it('assigns access lines to rows by timestamp, ignores lines outside every run, and counts delivered roots', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-delivery-'));
    const t0 = Date.parse('2026-01-01T00:00:00.000Z');
    const line = (ms: number, traceId: string, peer = false): string =>
      peer
        ? JSON.stringify({ '@timestamp': new Date(t0 + ms).toISOString(), trace_id: traceId, trace_flags: '01' })
        : JSON.stringify({ '@timestamp': new Date(t0 + ms).toISOString(), trace: { id: traceId } });
    writeFileSync(join(dir, 'a.ndjson'), [line(100, id(1)), line(200, id(2)), line(5_000, id(3)), line(9_999_999, id(4))].join('\n'));
    writeFileSync(join(dir, 'peer.ndjson'), `${line(5_100, id(5), true)}\n`);
    const windows = [
      { rowId: 'sat', start: t0, end: t0 + 1_000 },
      { rowId: 'rate', start: t0 + 4_000, end: t0 + 6_000 },
    ];
    const sampled = await sampledTraceIds(dir, windows, 1);
    assert.deepEqual([...(sampled.get('sat') ?? [])].sort(), [id(1), id(2)]);
    assert.deepEqual([...(sampled.get('rate') ?? [])].sort(), [id(3), id(5)]);
    const spans = join(dir, 'traces.jsonl');
    const root = (traceId: string) => ({ traceId, spanId: 'b'.repeat(16) });
    const child = (traceId: string) => ({ traceId, spanId: 'c'.repeat(16), parentSpanId: 'b'.repeat(16) });
    writeFileSync(spans, `${JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [root(id(1)), child(id(2)), root(id(3))] }] }] })}\n{"cut`);
    const delivered = await deliveredTraceIds(spans);
    assert.deepEqual(deliveryOf(sampled.get('sat'), delivered), { sampled: 2, delivered: 1 });
    assert.deepEqual(deliveryOf(sampled.get('rate'), delivered), { sampled: 2, delivered: 1 });
  });
});
