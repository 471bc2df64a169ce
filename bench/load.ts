/**
 * One bounded load run against one URL: a fixed number of keep-alive connections for a fixed
 * time, as fast as the server answers (closed loop), with exact per-request latencies.
 *
 * Latencies are taken from autocannon's per-response event (fractional milliseconds from
 * process.hrtime) rather than from its histogram, which records whole milliseconds: at
 * 1–5 ms per request that rounding would swamp the differences the benchmark looks for.
 */
import autocannon from 'autocannon';
import { percentileSorted } from './stats';

export interface LoadOptions {
  /** Base URL of the server, e.g. http://127.0.0.1:34567 */
  url: string;
  /** Request paths, cycled in order by every connection. */
  paths: readonly string[];
  headers?: Record<string, string>;
  connections: number;
  durationSeconds: number;
  /** Per-request timeout in seconds (autocannon's default is 10). */
  timeoutSeconds?: number;
}

export interface LoadResult {
  /** Responses of any status. */
  responses: number;
  /** Responses per second over the run's wall time. */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Connection errors and timeouts. */
  errors: number;
  timeouts: number;
  /** Responses with a status outside 2xx. */
  non2xx: number;
  /** Status code → count, for the report when non2xx > 0. */
  statusCodes: Record<string, number>;
  wallSeconds: number;
  /** CPU seconds the load generator (this process) used during the run. */
  generatorCpuSeconds: number;
}

/** Grows like a vector, holds doubles without boxing. */
class Samples {
  private data = new Float64Array(1 << 16);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = v;
  }
  sorted(): Float64Array {
    return this.data.slice(0, this.length).sort();
  }
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  if (options.paths.length === 0) throw new Error('runLoad: no paths');
  const latencies = new Samples();
  const statusCodes: Record<string, number> = {};
  let responses = 0;
  let non2xx = 0;
  const paths = options.paths;
  let next = 0;
  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  const result = await new Promise<autocannon.Result>((resolveRun, rejectRun) => {
    const instance = autocannon(
      {
        url: options.url,
        connections: options.connections,
        duration: options.durationSeconds,
        timeout: options.timeoutSeconds ?? 10,
        headers: options.headers ?? {},
        // One dynamic request that takes the next path of the shared list. (A static list of
        // N requests would be pre-built by every connection at start-up: N × connections
        // request builds, seconds of client CPU with 4 096 paths × 50 connections.)
        requests: [
          {
            method: 'GET' as const,
            setupRequest: (req: autocannon.Request): autocannon.Request => {
              req.path = paths[next++ % paths.length];
              return req;
            },
          },
        ],
      },
      (error, res) => (error === null || error === undefined ? resolveRun(res) : rejectRun(error as Error)),
    );
    instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
      responses++;
      latencies.push(responseTime);
      if (statusCode < 200 || statusCode >= 300) {
        non2xx++;
        statusCodes[statusCode] = (statusCodes[statusCode] ?? 0) + 1;
      }
    });
  });
  const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuBefore);
  const sorted = latencies.sorted();
  // The run's own duration (autocannon stops sending at `duration`); wall time adds the
  // start-up and the last in-flight answers, so it is only the fallback.
  const seconds = result.duration > 0 ? result.duration : wallSeconds;
  return {
    responses,
    rps: responses / seconds,
    p50Ms: percentileSorted(sorted, 50),
    p99Ms: percentileSorted(sorted, 99),
    maxMs: sorted.length > 0 ? (sorted[sorted.length - 1] as number) : Number.NaN,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx,
    statusCodes,
    wallSeconds,
    generatorCpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}
