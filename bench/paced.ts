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
  /** Requests per second, evenly spaced. */
  rate: number;
  timeoutSeconds?: number;
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

  await new Promise<void>((resolveAll) => {
    let sent = 0;
    const finish = (): void => {
      done++;
      if (done === total) resolveAll();
    };
    const send = (i: number): void => {
      const due = t0 + i * intervalMs;
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
      while (sent < total && t0 + sent * intervalMs <= now) send(sent++);
      if (sent < total) setTimeout(tick, Math.max(0, Math.min(1, t0 + sent * intervalMs - now)));
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
