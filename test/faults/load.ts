/**
 * A steady load for the fault matrix: `rate` requests per second, evenly spaced, each with the
 * row's user agent (so its access lines can be counted in the files and in Elasticsearch), on
 * keep-alive connections, until stopped. Counts what came back: 200s, anything else, errors.
 * The number in flight is capped so a stalled service cannot make it pile up without bound.
 */
import { Agent, request } from 'node:http';

export interface SteadyLoad {
  /** Stops sending; resolves once every request in flight has settled. */
  stop(): Promise<LoadCounts>;
  counts(): LoadCounts;
}

export interface LoadCounts {
  sent: number;
  ok: number;
  /** Non-200 responses and transport errors (refused, reset, timed out). */
  failed: number;
  /** Due while `maxInFlight` were already waiting: not sent, counted as failed too. */
  skipped: number;
  /**
   * Sent again once: the request went out on a kept-alive socket that the server had just
   * closed for idleness (ECONNRESET on a reused socket, the race Node's docs describe for
   * `request.reusedSocket`). Not a failure of the service: it never saw the request.
   */
  retried: number;
  firstFailure?: string;
}

const MODELS = ['popular', 'knn', 'knn_cosine', 'knn_tfidf'];

export function startSteadyLoad(options: { url: string; apiKey: string; userAgent: string; rate: number; maxInFlight?: number }): SteadyLoad {
  const base = new URL(options.url);
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const maxInFlight = options.maxInFlight ?? 2000;
  const counts: LoadCounts = { sent: 0, ok: 0, failed: 0, skipped: 0, retried: 0 };
  let inFlight = 0;
  let stopped = false;
  const settledWaiters: (() => void)[] = [];
  const t0 = performance.now();
  let due = 0;

  const fail = (why: string): void => {
    counts.failed++;
    counts.firstFailure ??= why;
  };
  const settle = (): void => {
    inFlight--;
    if (stopped && inFlight === 0) for (const w of settledWaiters.splice(0)) w();
  };
  const send = (i: number): void => {
    if (inFlight >= maxInFlight) {
      counts.skipped++;
      fail(`skipped: ${maxInFlight} requests already in flight`);
      return;
    }
    counts.sent++;
    inFlight++;
    attempt(i, true);
  };
  const attempt = (i: number, first: boolean): void => {
    const path = `/reco/${MODELS[i % MODELS.length]}/${(i % 50) + 1}`;
    const req = request(
      {
        host: base.hostname,
        port: base.port,
        path,
        agent,
        timeout: 30_000,
        headers: { authorization: `Bearer ${options.apiKey}`, 'user-agent': options.userAgent },
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200) counts.ok++;
          else fail(`${path}: HTTP ${res.statusCode}`);
          settle();
        });
        res.on('error', (error) => {
          fail(`${path}: ${error.message}`);
          settle();
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out after 30 s')));
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (first && req.reusedSocket && error.code === 'ECONNRESET') {
        counts.retried++;
        attempt(i, false);
        return;
      }
      fail(`${path}: ${error.message}`);
      settle();
    });
    req.end();
  };
  // A 10 ms tick sends whatever became due: evenly spaced on average, without one timer per request.
  const timer = setInterval(() => {
    const target = Math.floor(((performance.now() - t0) / 1000) * options.rate);
    while (due < target && !stopped) send(due++);
  }, 10);

  return {
    counts: () => ({ ...counts }),
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      if (inFlight > 0) await new Promise<void>((resolveSettled) => settledWaiters.push(resolveSettled));
      agent.destroy();
      return { ...counts };
    },
  };
}
