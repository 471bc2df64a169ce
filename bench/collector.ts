/**
 * A private OpenTelemetry Collector for the tracing rows, provisioned by the project's own
 * `stack/stack.sh up otelcol` (built beforehand by `stack/stack.sh install otelcol`).
 *
 * Private: its own name, run directory and free ports, so it never collides with a collector
 * a developer or a test already runs on 4318, and `down` stops only this one. Its span file
 * (OTLP JSON lines) lives in the benchmark's scratch directory and is deleted with it.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createReadStream } from 'node:fs';
import { freePort } from '../loadtest/child-server';
import { PROJECT_ROOT } from '../src/paths';
import { pinnedCommand, processCpuSeconds } from '../loadtest/cpu';

export interface Collector {
  /** OTLP/HTTP base URL for OTEL_EXPORTER_OTLP_ENDPOINT. */
  endpoint: string;
  spanFile: string;
  pid: number | undefined;
  stop(): Promise<void>;
}

export type CollectorStart = { ok: true; collector: Collector } | { ok: false; reason: string };

const STACK_SH = join(PROJECT_ROOT, 'stack', 'stack.sh');
const OTELCOL_SH = join(PROJECT_ROOT, 'stack', 'otelcol.sh');
/** The bench's overlay: spans to the file exporter only (why: in the file). */
const BENCH_OVERLAY = join(PROJECT_ROOT, 'bench', 'otelcol.yaml');

interface Run {
  code: number | null;
  output: string;
}

export function runStack(args: string[], env: Record<string, string>, timeoutMs: number, cpu: number | undefined): Promise<Run> {
  const { command, args: argv } = pinnedCommand(cpu, 'bash', [STACK_SH, ...args]);
  return new Promise((resolveRun) => {
    // detached: its own process group, so a timeout can kill bash and whatever it started.
    const child = spawn(command, argv, { cwd: PROJECT_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-8_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => {
      output += `\n(timed out after ${Math.round(timeoutMs / 1000)} s)`;
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      resolveRun({ code: -1, output: `${output}\n${error.message}` });
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolveRun({ code, output });
    });
  });
}

/** The last meaningful line of a script's output, for a one-line "skipped: ..." reason. */
export function lastError(output: string): string {
  const lines = output
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const error = [...lines].reverse().find((l) => /error|timed out|not/i.test(l));
  return (error ?? lines[lines.length - 1] ?? 'no output').slice(0, 300);
}

/**
 * Starts the collector, pinned to `cpu` (the load generator's core: the server's core stays
 * the server's alone). Resolves `{ ok: false, reason }` rather than throwing.
 */
export async function startCollector(options: { scratchDir: string; cpu?: number; timeoutMs: number }): Promise<CollectorStart> {
  if (!existsSync(OTELCOL_SH)) return { ok: false, reason: 'stack/otelcol.sh not found' };
  let ports: number[];
  try {
    ports = [await freePort(), await freePort(), await freePort(), await freePort()];
  } catch (error) {
    return { ok: false, reason: `no free ports: ${(error as Error).message}` };
  }
  const [httpPort, grpcPort, healthPort, metricsPort] = ports as [number, number, number, number];
  const name = `otelcol-bench-${process.pid}`;
  const runDir = join(options.scratchDir, 'otelcol-run');
  const spanFile = join(options.scratchDir, 'otelcol', 'traces.jsonl');
  const env: Record<string, string> = {
    OTELCOL_NAME: name,
    STACK_RUN_DIR: runDir,
    OTELCOL_HOST: '127.0.0.1',
    OTELCOL_OTLP_HTTP_PORT: String(httpPort),
    OTELCOL_OTLP_GRPC_PORT: String(grpcPort),
    OTELCOL_HEALTH_PORT: String(healthPort),
    OTELCOL_METRICS_PORT: String(metricsPort),
    OTELCOL_FILE_PATH: spanFile,
    OTELCOL_EXTRA_CONFIG: BENCH_OVERLAY,
  };
  const up = await runStack(['up', 'otelcol'], env, options.timeoutMs, options.cpu);
  const pidFile = join(runDir, `${name}.pid`);
  if (up.code !== 0) {
    await runStack(['down', 'otelcol'], env, 30_000, undefined);
    return { ok: false, reason: `stack/stack.sh up otelcol failed: ${lastError(up.output)}` };
  }
  let pid: number | undefined;
  try {
    pid = Number.parseInt(readFileSync(pidFile, 'utf8').trim(), 10);
  } catch {
    pid = undefined;
  }
  return {
    ok: true,
    collector: {
      endpoint: `http://127.0.0.1:${httpPort}`,
      spanFile,
      pid,
      stop: async () => {
        await runStack(['down', 'otelcol'], env, 30_000, undefined);
      },
    },
  };
}

export function collectorCpuSeconds(collector: Collector): number | undefined {
  return collector.pid === undefined ? undefined : processCpuSeconds(collector.pid);
}

export interface SpanCount {
  spans: number;
  /** Spans without a parent: one per traced request that reached the collector. */
  roots: number;
  /** Bytes of the collector's OTLP JSON lines. */
  bytes: number;
}

/** One line of the collector's file exporter: an OTLP JSON export request. */
export interface OtlpLine {
  resourceSpans?: {
    resource?: { attributes?: { key?: string; value?: { stringValue?: string } }[] };
    scopeSpans?: { spans?: { traceId?: string; parentSpanId?: string }[] }[];
  }[];
}

/** The collector's file exporter output, line by line, parsed; a line cut by the collector's stop is skipped. */
export async function* otlpLines(spanFile: string): AsyncGenerator<{ batch: OtlpLine; bytes: number }> {
  if (!existsSync(spanFile)) return;
  const lines = createInterface({ input: createReadStream(spanFile, { encoding: 'utf8' }), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    let batch: OtlpLine;
    try {
      batch = JSON.parse(line) as OtlpLine;
    } catch {
      continue;
    }
    yield { batch, bytes: line.length };
  }
}

/**
 * Counts the spans in the collector's file exporter output (one OTLP JSON object per line),
 * per `service.name` (each traced bench mode exports under its own name). Bytes are
 * apportioned per line by span share.
 */
export async function countSpans(spanFile: string): Promise<Map<string, SpanCount>> {
  const out = new Map<string, SpanCount>();
  for await (const { batch, bytes } of otlpLines(spanFile)) {
    const perLine = new Map<string, SpanCount>();
    let lineSpans = 0;
    for (const rs of batch.resourceSpans ?? []) {
      const service = rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value?.stringValue ?? '';
      const count = perLine.get(service) ?? { spans: 0, roots: 0, bytes: 0 };
      for (const ss of rs.scopeSpans ?? []) {
        for (const span of ss.spans ?? []) {
          count.spans++;
          lineSpans++;
          if (span.parentSpanId === undefined || span.parentSpanId === '') count.roots++;
        }
      }
      perLine.set(service, count);
    }
    for (const [service, count] of perLine) {
      const total = out.get(service) ?? { spans: 0, roots: 0, bytes: 0 };
      total.spans += count.spans;
      total.roots += count.roots;
      total.bytes += lineSpans === 0 ? 0 : (bytes * count.spans) / lineSpans;
      out.set(service, total);
    }
  }
  return out;
}
