/**
 * The worker model: with WORKERS=N (or `auto`, one per available CPU) the process started by
 * the user becomes a supervisor (node:cluster primary) that forks N workers, each a full
 * service (models, HTTP, logs, traces) on the shared listening port; with WORKERS=1 (the
 * default) none of this runs.
 *
 * - A worker that exits when no shutdown was asked for is forked again in its slot after a
 *   backoff that doubles on each quick crash (250 ms .. 30 s), logged each time.
 * - SIGTERM/SIGINT: every worker gets SIGTERM and drains itself (src/main.ts's shutdown: in-flight
 *   requests answered, every log line written); the supervisor exits once all have, SIGKILLing
 *   what is left after SHUTDOWN_TIMEOUT_MS plus a margin.
 * - Logs: the supervisor writes LOG_FILE itself; worker slot i writes `<name>-w<i>.ndjson`
 *   beside it, so each file has one writer (no interleaved partial lines) and the Filebeat
 *   glob `*.ndjson` covers them all.
 * - Metrics: the workers listen on no metrics port; the supervisor answers METRICS_PORT with
 *   the aggregate of every worker's registry (prom-client's AggregatorRegistry: counters and
 *   histograms summed, per-model gauges by max), plus its own restart counter, the one family
 *   where a `worker` label tells something.
 */
import cluster, { type Worker } from 'node:cluster';
import { createServer, type Server } from 'node:http';
import { availableParallelism } from 'node:os';
import type * as PromClient from 'prom-client';
import type { OpenMetricsContentType, PrometheusContentType, Registry } from 'prom-client';
import type { Config } from '../config';
import { listenOn, serverUrl } from '../http/server';
import { flushLogger, logger } from '../observability/logger';
import { METRICS_PATH } from '../observability/metrics-server';

export const WORKER_SLOT_ENV = 'WORKER_SLOT';
const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 30_000;
/** A worker that ran this long before dying was not crash-looping: its backoff starts over. */
const STABLE_AFTER_MS = 30_000;
/** Beyond the workers' own SHUTDOWN_TIMEOUT_MS, before the supervisor SIGKILLs stragglers. */
const SHUTDOWN_MARGIN_MS = 5_000;

/** How many workers WORKERS asks for; `auto` is the CPUs this process may run on. */
export function workerCount(setting: number | 'auto'): number {
  return setting === 'auto' ? availableParallelism() : setting;
}

/** Worker slot i's log file: `recoscope.ndjson` -> `recoscope-w2.ndjson`. */
export function workerLogFile(file: string, slot: number): string {
  const dot = file.lastIndexOf('.');
  return dot > 0 ? `${file.slice(0, dot)}-w${slot}${file.slice(dot)}` : `${file}-w${slot}`;
}

/** The delay before slot's next fork, after `quickCrashes` crashes in a row. */
export function restartDelayMs(quickCrashes: number): number {
  return Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.max(0, quickCrashes - 1));
}

/** In a worker: which config changes its slot brings (own log file, no metrics listener). */
export function workerConfig(config: Config): Config {
  const slot = config.workers.slot;
  if (slot === undefined) return config;
  return { ...config, log: { ...config.log, file: workerLogFile(config.log.file, slot) } };
}

/** True when this process is a worker forked by the supervisor. */
export function isWorker(config: Config): boolean {
  return cluster.isWorker && config.workers.slot !== undefined;
}

/** True when this process should supervise workers instead of serving itself. */
export function isSupervisor(config: Config): boolean {
  return cluster.isPrimary && config.workers.slot === undefined && workerCount(config.workers.count) > 1;
}

/** In a worker: make `registry` answer the supervisor's aggregated scrape. */
export function serveRegistryToSupervisor(registry: Registry<PrometheusContentType> | Registry<OpenMetricsContentType>): void {
  const { AggregatorRegistry } = promClient();
  // Constructing one installs prom-client's worker-side IPC listener, which answers the
  // supervisor's requests with the registries set here.
  new AggregatorRegistry<PrometheusContentType>();
  AggregatorRegistry.setRegistries([registry]);
}

/**
 * prom-client, loaded on first use: with WORKERS=1 and METRICS_PORT=0 the service loads no
 * metrics code at all, as before the worker model.
 */
function promClient(): typeof PromClient {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: only a supervisor or a metrics worker loads it
  return require('prom-client') as typeof PromClient;
}

interface Slot {
  worker: Worker | undefined;
  startedAt: number;
  quickCrashes: number;
  timer: NodeJS.Timeout | undefined;
}

/** Runs the supervisor until every worker has exited after SIGTERM/SIGINT; then exits. */
export async function runSupervisor(config: Config, apiKey: string): Promise<void> {
  const { Counter, Gauge, Registry } = promClient();
  const count = workerCount(config.workers.count);
  const slots = new Map<number, Slot>();
  const ownRegistry = new Registry();
  const restarts = new Counter({
    name: 'recoscope_worker_restarts_total',
    help: 'Workers forked again by the supervisor after an unexpected exit, by worker slot.',
    labelNames: ['worker'],
    registers: [ownRegistry],
  });
  new Gauge({
    name: 'recoscope_workers',
    help: 'Worker processes running under the supervisor.',
    registers: [ownRegistry],
    collect() {
      this.set([...slots.values()].filter((s) => s.worker !== undefined).length);
    },
  });
  let shuttingDown = false;

  const fork = (slot: number): void => {
    // The key goes to the workers through their environment, so a generated development key
    // is the same in all of them.
    const worker = cluster.fork({ [WORKER_SLOT_ENV]: String(slot), API_KEY: apiKey });
    const state = slots.get(slot) ?? { worker: undefined, startedAt: 0, quickCrashes: 0, timer: undefined };
    state.worker = worker;
    state.startedAt = Date.now();
    state.timer = undefined;
    slots.set(slot, state);
    worker.on('exit', (code, signal) => {
      state.worker = undefined;
      if (shuttingDown) {
        if ([...slots.values()].every((s) => s.worker === undefined)) void finish(0);
        return;
      }
      const lived = Date.now() - state.startedAt;
      state.quickCrashes = lived >= STABLE_AFTER_MS ? 1 : state.quickCrashes + 1;
      const delay = restartDelayMs(state.quickCrashes);
      restarts.inc({ worker: String(slot) });
      logger.warn(`worker ${slot} (pid ${worker.process.pid}) exited (${signal ?? `code ${code}`}) after ${lived} ms: restarting in ${delay} ms`, {
        event: { action: 'worker-restart' },
        recoscope: { worker: { slot, pid: worker.process.pid, exit_code: code, signal, lived_ms: lived, restart_in_ms: delay } },
      });
      state.timer = setTimeout(() => fork(slot), delay);
    });
  };

  let metricsServer: Server | undefined;
  const finish = async (code: number): Promise<void> => {
    if (metricsServer !== undefined) {
      metricsServer.closeAllConnections();
      await new Promise<void>((done) => metricsServer?.close(() => done()));
    }
    logger.info('supervisor: every worker has exited', { event: { action: 'shutdown-complete' } });
    await flushLogger();
    process.exit(code);
  };

  const shutdown = (reason: string): void => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info(`supervisor: shutting down (${reason}): draining ${count} worker(s)`, { event: { action: 'shutdown' } });
    for (const state of slots.values()) {
      clearTimeout(state.timer);
      state.worker?.process.kill('SIGTERM');
    }
    if ([...slots.values()].every((s) => s.worker === undefined)) {
      void finish(0);
      return;
    }
    setTimeout(() => {
      for (const state of slots.values()) state.worker?.process.kill('SIGKILL');
      logger.warn('supervisor: workers still running after the shutdown timeout were killed', { event: { action: 'shutdown-timeout' } });
    }, config.shutdownTimeoutMs + SHUTDOWN_MARGIN_MS).unref();
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  // A model promotion: each worker reloads its models from the registry itself.
  process.on('SIGHUP', () => {
    for (const state of slots.values()) state.worker?.process.kill('SIGHUP');
  });

  if (config.metricsPort !== 0) metricsServer = await listenAggregated(config, ownRegistry);
  for (let slot = 1; slot <= count; slot++) fork(slot);
  logger.info(`supervisor: ${count} worker(s) on port ${config.port}${metricsServer === undefined ? '' : `, aggregated metrics on ${serverUrl(metricsServer)}${METRICS_PATH}`}`, {
    event: { action: 'supervisor-started' },
    recoscope: { workers: count },
  });
}

async function listenAggregated(config: Config, ownRegistry: Registry): Promise<Server> {
  const { AggregatorRegistry } = promClient();
  const aggregator = new AggregatorRegistry<PrometheusContentType>();
  const server = createServer((req, res) => {
    if ((req.url ?? '').split('?')[0] !== METRICS_PATH) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end(`not found: metrics are at ${METRICS_PATH}\n`);
      return;
    }
    Promise.all([aggregator.clusterMetrics(), ownRegistry.metrics()]).then(
      ([workers, own]) => {
        res.writeHead(200, { 'content-type': ownRegistry.contentType, 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : `${workers}\n${own}`);
      },
      (error: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`cannot aggregate the workers' metrics: ${String(error)}\n`);
      },
    );
  });
  server.keepAliveTimeout = 5_000;
  await listenOn(server, config.metricsPort, config.host);
  return server;
}
