/**
 * `npm run bench:tracing [-- --rounds N --requests N]`: what tracing costs per request, part
 * by part, measured in process (bench/probes/tracing.ts) so the numbers hold on a busy
 * machine: no HTTP, no load generator, CPU time of one process.
 *
 * Configurations (each a fresh probe process pinned to CPU 0 when possible, interleaved over
 * rounds, medians): tracing off (the harness's own cost, subtracted from the others),
 * sampler always_off (a dropped request), 10 % (parentbased_traceidratio 0.1), and 100 %
 * with the protobuf and the JSON OTLP exporter, and the tail-sampling mode (every span
 * exported, parentbased_always_on: the collector decides). Per configuration: CPU µs per request while
 * handling requests (spans created, attributes set, spans ended and queued) and while
 * exporting (OTLP serialisation and HTTP POST to an in-process sink), and bytes per trace.
 */
import { parseCommandLine, runCli, UsageError } from '../src/cli/usage';
import { pinningStatus } from '../loadtest/cpu';
import { fmtInt, textTable, type Column } from './format';
import { runProbe } from './probes/protocol';
import type { DeliveryProbeResult, TracingProbeResult } from './probes/tracing';
import { countSpans, startCollector } from './collector';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { median } from './stats';

const USAGE = `usage: npm run bench:tracing [-- options]
  --rounds N      probe runs per configuration, interleaved (default 3)
  --requests N    simulated requests per probe run (default 50000)
  --delivery      instead: sampled traces delivered to a real collector (stack/stack.sh up
                  otelcol) from a saturated loop, per batch-processor setting and sampling
  --seconds S     seconds per delivery run (default 5)
  --rates a,b     delivery runs at these request rates (requests/s; 0 = as fast as the loop
                  runs) (default 0)`;

/** Batch processor settings compared by --delivery: the SDK's defaults and larger ones. */
export const BSP_VARIANTS: { id: string; env: Record<string, string> }[] = [
  { id: 'SDK default (queue 2048, batch 512, delay 5 s)', env: { OTEL_BSP_MAX_QUEUE_SIZE: '2048', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '512', OTEL_BSP_SCHEDULE_DELAY: '5000' } },
  { id: 'queue 8192, batch 2048, delay 1 s (the service default)', env: { OTEL_BSP_MAX_QUEUE_SIZE: '8192', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '2048', OTEL_BSP_SCHEDULE_DELAY: '1000' } },
  { id: 'queue 32768, batch 4096, delay 1 s', env: { OTEL_BSP_MAX_QUEUE_SIZE: '32768', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '4096', OTEL_BSP_SCHEDULE_DELAY: '1000' } },
];

async function deliveryMain(seconds: number, rates: number[]): Promise<number> {
  const scratch = mkdtempSync(join(tmpdir(), 'recoscope-bench-tracing-'));
  const pin = pinningStatus([0, 1]);
  const started = await startCollector({ scratchDir: scratch, timeoutMs: 20 * 60_000, ...(pin.available ? { cpu: 1 } : {}) });
  if (!started.ok) throw new Error(`no collector: ${started.reason}`);
  const collector = started.collector;
  const runs: { id: string; ratio: number; rate: number; service: string; result: DeliveryProbeResult }[] = [];
  try {
    let n = 0;
    for (const [ratio, rate] of [1, 0.1].flatMap((r) => rates.map((x) => [r, x] as const))) {
      for (const v of BSP_VARIANTS) {
        const service = `bench-delivery-${n++}`;
        const sampler: Record<string, string> = ratio >= 1 ? { OTEL_TRACES_SAMPLER: 'always_on' } : { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: String(ratio) };
        const { result } = await runProbe<DeliveryProbeResult>('tracing', {
          env: { ...v.env, ...sampler, OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint, OTEL_SERVICE_NAME: service, TRACE_PROBE_MODE: 'delivery', TRACE_PROBE_SECONDS: String(seconds), TRACE_PROBE_RATE: String(rate), NODE_ENV: 'production' },
          timeoutMs: 5 * 60_000,
          ...(pin.available ? { cpu: 0 } : {}),
        });
        runs.push({ id: v.id, ratio, rate, service, result });
        process.stderr.write(`[bench:tracing] ${ratio * 100}% ${v.id}: ${result.sampledRequests} sampled, dropped ${JSON.stringify(result.dropped)}\n`);
      }
    }
  } finally {
    await collector.stop();
  }
  const counts = await countSpans(collector.spanFile);
  rmSync(scratch, { recursive: true, force: true });
  const columns: Column[] = [
    { header: 'sampling', align: 'right' },
    { header: 'batch span processor', align: 'left' },
    { header: 'rate asked', align: 'right' },
    { header: 'requests/s', align: 'right' },
    { header: 'sampled', align: 'right' },
    { header: 'delivered', align: 'right' },
    { header: 'share', align: 'right' },
    { header: 'dropped queue_full', align: 'right' },
    { header: 'dropped export_failed', align: 'right' },
    { header: 'CPU µs/req', align: 'right' },
  ];
  const rows = runs.map((r) => {
    const roots = counts.get(r.service)?.roots ?? 0;
    return [
      `${r.ratio * 100} %`,
      r.id,
      r.rate > 0 ? fmtInt(r.rate) : 'saturated',
      fmtInt(r.result.requests / r.result.seconds),
      fmtInt(r.result.sampledRequests),
      fmtInt(roots),
      r.result.sampledRequests === 0 ? '—' : `${((roots / r.result.sampledRequests) * 100).toFixed(1)} %`,
      fmtInt(r.result.dropped.queue_full ?? 0),
      fmtInt(r.result.dropped.export_failed ?? 0),
      fmt1(r.result.cpuUsPerRequest),
    ];
  });
  process.stdout.write(
    `Sampled traces delivered from a saturated loop (${seconds} s per run, 40 requests per event-loop turn, the service's tracing for /reco/knn; ` +
      `${pin.available ? 'probe on CPU 0, collector on CPU 1' : 'not pinned'}; load average ${loadavg()[0]?.toFixed(2)}; Node ${process.version})\n` +
      'delivered = request traces whose server span reached the collector; dropped = the service\'s own recoscope_telemetry_dropped_total counts\n\n' +
      `${textTable(columns, rows)}\n`,
  );
  return 0;
}

interface Variant {
  id: string;
  env: Record<string, string>;
}

const ENDPOINT = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' };
const HEAD_ID = '10 % (parentbased_traceidratio 0.1), protobuf';
const TAIL_ID = 'tail-sampling mode: every span exported (parentbased_always_on), protobuf';

export const VARIANTS: Variant[] = [
  { id: 'tracing off (harness only)', env: {} },
  { id: 'always_off (every request dropped)', env: { ...ENDPOINT, OTEL_TRACES_SAMPLER: 'always_off' } },
  { id: HEAD_ID, env: { ...ENDPOINT, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' } },
  { id: '100 % (always_on), protobuf', env: { ...ENDPOINT, OTEL_TRACES_SAMPLER: 'always_on' } },
  { id: '100 % (always_on), JSON', env: { ...ENDPOINT, OTEL_TRACES_SAMPLER: 'always_on', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' } },
  // The service's side of tail sampling (otel-collector/config.tail-sampling.yaml, k8s/): it
  // exports every span and the collector decides, so its cost is that of exporting it all.
  { id: TAIL_ID, env: { ...ENDPOINT, OTEL_TRACES_SAMPLER: 'parentbased_always_on' } },
];

const COLUMNS: Column[] = [
  { header: 'configuration', align: 'left' },
  { header: 'requests µs/req', align: 'right' },
  { header: 'export µs/req', align: 'right' },
  { header: 'total − harness µs/req', align: 'right' },
  { header: 'sampled', align: 'right' },
  { header: 'OTLP bytes/trace', align: 'right' },
];

const fmt1 = (v: number): string => (Number.isFinite(v) ? v.toFixed(1) : '—');

async function main(): Promise<number> {
  const { values } = parseCommandLine({
    args: process.argv.slice(2),
    options: {
      rounds: { type: 'string' },
      requests: { type: 'string' },
      delivery: { type: 'boolean', default: false },
      seconds: { type: 'string' },
      rates: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values.delivery) {
    const seconds = Number(values.seconds ?? 5);
    if (!(seconds > 0 && seconds <= 600)) throw new UsageError(`--seconds must be in (0, 600], got '${values.seconds}'`);
    const rates = (values.rates ?? '0').split(',').map(Number);
    if (rates.some((r) => !(Number.isFinite(r) && r >= 0))) throw new UsageError(`--rates must be non-negative numbers, got '${values.rates}'`);
    return deliveryMain(seconds, rates);
  }
  const rounds = Number(values.rounds ?? 3);
  const requests = Number(values.requests ?? 50_000);
  if (!Number.isInteger(rounds) || rounds < 1) throw new UsageError(`--rounds must be a positive integer, got '${values.rounds}'`);
  if (!Number.isInteger(requests) || requests < 100) throw new UsageError(`--requests must be an integer ≥ 100, got '${values.requests}'`);
  const cpu = pinningStatus([0]).available ? 0 : undefined;
  const results = new Map<string, TracingProbeResult[]>(VARIANTS.map((v) => [v.id, []]));
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? VARIANTS : [...VARIANTS].reverse();
    for (const v of order) {
      const { result } = await runProbe<TracingProbeResult>('tracing', {
        env: { ...v.env, TRACE_PROBE_REQUESTS: String(requests), NODE_ENV: 'production' },
        timeoutMs: 5 * 60_000,
        ...(cpu === undefined ? {} : { cpu }),
      });
      results.get(v.id)?.push(result);
      process.stderr.write(
        `[bench:tracing] round ${round + 1}/${rounds} ${v.id}: ${result.requestCpuUsPerRequest.toFixed(1)} + ${result.exportCpuUsPerRequest.toFixed(1)} µs/req\n`,
      );
    }
  }
  const total = (r: TracingProbeResult): number => r.requestCpuUsPerRequest + r.exportCpuUsPerRequest;
  const harness = median((results.get(VARIANTS[0]!.id) ?? []).map(total));
  const rows = VARIANTS.map((v) => {
    const rs = results.get(v.id) ?? [];
    const sampled = median(rs.map((r) => r.sampledRequests));
    return [
      v.id,
      fmt1(median(rs.map((r) => r.requestCpuUsPerRequest))),
      fmt1(median(rs.map((r) => r.exportCpuUsPerRequest))),
      fmt1(median(rs.map(total)) - harness),
      `${fmtInt(sampled)} / ${fmtInt(requests)}`,
      sampled > 0 ? fmtInt(median(rs.map((r) => r.exportedBytes / Math.max(r.sampledRequests, 1)))) : '—',
    ];
  });
  const netOf = (id: string): number => median((results.get(id) ?? []).map(total)) - harness;
  const tailVsHead = netOf(TAIL_ID) / netOf(HEAD_ID);
  process.stdout.write(
    `Tracing cost per request, in process (${rounds} rounds × ${requests} requests, medians; ${cpu === undefined ? 'not pinned' : 'pinned to CPU 0'}; Node ${process.version})\n` +
      'A request here is the service\'s tracing work for one /reco/knn request: server span, route span, four stage spans.\n\n' +
      `${textTable(COLUMNS, rows)}\n` +
      `\nTail-sampling mode vs head sampling at 10 %: ${fmt1(netOf(TAIL_ID))} vs ${fmt1(netOf(HEAD_ID))} µs/req over the harness, ` +
      `${Number.isFinite(tailVsHead) ? tailVsHead.toFixed(2) : '—'}× (the service's cost; the collector's is not in this number)\n`,
  );
  return 0;
}

if (require.main === module) runCli('bench:tracing', USAGE, main);
