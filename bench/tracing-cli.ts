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
import type { TracingProbeResult } from './probes/tracing';
import { median } from './stats';

const USAGE = `usage: npm run bench:tracing [-- options]
  --rounds N      probe runs per configuration, interleaved (default 3)
  --requests N    simulated requests per probe run (default 50000)`;

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
    options: { rounds: { type: 'string' }, requests: { type: 'string' }, help: { type: 'boolean', default: false } },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
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
