/**
 * Open-loop load at a fixed rate, for "latency under a given load" rows.
 *
 * autocannon's rate limit is a per-connection budget per wall-clock second, so every
 * connection fires its whole budget at the top of each second: bursts that measure queueing
 * behind the burst, not latency at that rate. Here request i is due at t0 + i / rate (evenly
 * spaced), sent on a keep-alive pool of at most `connections` sockets, and its latency is
 * measured from when it was *due*, not when a socket became free, so a server that falls
 * behind shows it in the latency (no coordinated omission).
 */
import { Agent, request } from 'node:http';
import type { LoadResult } from './load';
import { percentileSorted } from './stats';

export interface PacedOptions {
  url: string;
  paths: readonly string[];
  headers?: Record<string, string>;
  /** Most sockets open at once (requests beyond that wait for a free one, and that wait counts). */
  connections: number;
  durationSeconds: number;
  /** Requests per second: evenly spaced, or with `arrivals: 'poisson'` that rate on average. */
  rate: number;
  /**
   * 'poisson': exponential gaps between requests (a Poisson process at `rate`). Several servers
   * loaded at once from one generator with even spacing keep the same phase against each other
   * for a whole window, and the A/B method's CPU-per-request ratios of two identical servers
   * then moved by ±7 % between windows; random arrivals, each woken at its own time, vary those
   * phases within each window.
   */
  arrivals?: 'even' | 'poisson';
  timeoutSeconds?: number;
}

/** When each of `total` requests is due, from `t0`: every `intervalMs`, or exponential gaps of that mean. */
export function arrivalTimes(total: number, intervalMs: number, arrivals: 'even' | 'poisson', t0 = 0, random: () => number = Math.random): Float64Array {
  const due = new Float64Array(total);
  for (let i = 0, t = t0; i < total; i++) {
    due[i] = arrivals === 'poisson' ? t : t0 + i * intervalMs;
    t += -Math.log(1 - random()) * intervalMs;
  }
  return due;
}

export async function runPaced(options: PacedOptions): Promise<LoadResult> {
  if (!(options.rate > 0)) throw new Error(`runPaced: rate must be > 0, got ${options.rate}`);
  const base = new URL(options.url);
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections, maxFreeSockets: options.connections });
  const total = Math.max(1, Math.round(options.rate * options.durationSeconds));
  const latencies = new Float64Array(total);
  const statusCodes: Record<string, number> = {};
  let done = 0;
  let responses = 0;
  let non2xx = 0;
  let errors = 0;
  let timeouts = 0;
  const cpuBefore = process.cpuUsage();
  const t0 = performance.now();
  const intervalMs = 1000 / options.rate;
  const dueAt = arrivalTimes(total, intervalMs, options.arrivals ?? 'even', t0);

  await new Promise<void>((resolveAll) => {
    let sent = 0;
    const finish = (): void => {
      done++;
      if (done === total) resolveAll();
    };
    const send = (i: number): void => {
      const due = dueAt[i] as number;
      let settled = false;
      const settle = (): void => {
        if (settled) return;
        settled = true;
        finish();
      };
      const req = request(
        {
          host: base.hostname,
          port: base.port,
          path: options.paths[i % options.paths.length],
          method: 'GET',
          headers: options.headers,
          agent,
          timeout: (options.timeoutSeconds ?? 10) * 1000,
        },
        (res) => {
          res.resume();
          res.once('end', () => {
            const status = res.statusCode ?? 0;
            latencies[responses++] = performance.now() - due;
            if (status < 200 || status >= 300) {
              non2xx++;
              statusCodes[status] = (statusCodes[status] ?? 0) + 1;
            }
            settle();
          });
          res.once('error', () => {
            if (!settled) errors++;
            settle();
          });
        },
      );
      req.once('timeout', () => {
        timeouts++;
        req.destroy(new Error('timeout'));
      });
      req.once('error', () => {
        if (!settled) errors++;
        settle();
      });
      req.end();
    };
    const tick = (): void => {
      const now = performance.now();
      while (sent < total && (dueAt[sent] as number) <= now) send(sent++);
      // Poisson: wake at the next request's own time. Capped at 1 ms, every generator of a run
      // woke on the same millisecond ticks in the same order, and each window's servers then fell
      // into clusters up to ~30 % apart in CPU per request, by their place in that order
      // (bench:profiling, 12 servers, 2026-12-02; why the place matters is not known).
      if (sent < total) {
        const wait = (dueAt[sent] as number) - now;
        setTimeout(tick, Math.max(0, options.arrivals === 'poisson' ? wait : Math.min(1, wait)));
      }
    };
    tick();
  });
  const wallSeconds = (performance.now() - t0) / 1000;
  agent.destroy();
  const cpu = process.cpuUsage(cpuBefore);
  const sorted = latencies.slice(0, responses).sort();
  return {
    responses,
    // Over the scheduled duration: at a sustainable rate this equals the rate.
    rps: responses / Math.max(options.durationSeconds, wallSeconds),
    p50Ms: percentileSorted(sorted, 50),
    p99Ms: percentileSorted(sorted, 99),
    maxMs: sorted.length > 0 ? (sorted[sorted.length - 1] as number) : Number.NaN,
    errors,
    timeouts,
    non2xx,
    statusCodes,
    wallSeconds,
    generatorCpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}
