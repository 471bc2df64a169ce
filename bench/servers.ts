/** The processes under test: the two baselines and the service in its observability modes. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, startChildServer, type ChildServer } from '../loadtest/child-server';
import { SERVICE_MAIN_JS, compiled } from '../src/paths';

/**
 * The service's observability modes (bench/README.md "What runs"):
 *  - off:      no log output, no metrics endpoint, no tracing;
 *  - log:      the ECS log file only;
 *  - metrics:  the Prometheus endpoint only (METRICS_PORT), logs off;
 *  - trace100: file log + tracing, every request sampled (always_on);
 *  - trace10:  file log + tracing, 10 % of new traces (parentbased_traceidratio 0.1);
 *  - all:      everything a production deployment runs: file log + metrics + tracing at 10 %;
 *  - profile:  obs off + continuous profiling at 100 Hz (PROFILING_ENABLED), so its CPU per
 *              request against obs off is the cost of the profiler alone.
 *  - direct:   file log + direct shipping of every line to Elasticsearch (winston-elasticsearch,
 *              LOG_ELASTICSEARCH_URL), the hosts without Filebeat; against a private node.
 * Every mode without metrics sets METRICS_PORT=0 (off). A service build without a metrics
 * endpoint ignores METRICS_PORT: the mode then measures only what the build has, and the
 * benchmark says so in its notes.
 */
export type Observability = 'off' | 'log' | 'metrics' | 'trace100' | 'trace10' | 'all' | 'profile' | 'direct';

export const OBSERVABILITY_MODES: readonly Observability[] = ['off', 'log', 'metrics', 'trace100', 'trace10', 'all', 'profile', 'direct'];

/** The profile mode's sampling rate: the "about 100 Hz". */
export const BENCH_PROFILING_HZ = 100;

export const OBSERVABILITY_LABEL: Record<Observability, string> = {
  off: 'obs off',
  log: 'file log',
  metrics: 'metrics',
  trace100: 'log+trace 100%',
  trace10: 'log+trace 10%',
  all: 'everything (log+metrics+trace 10%)',
  profile: `profiling on (${BENCH_PROFILING_HZ} Hz, obs off otherwise)`,
  direct: 'file log + direct to Elasticsearch',
};

export interface ModeParts {
  fileLog: boolean;
  metrics: boolean;
  /** Share of new traces sampled; undefined = tracing off. */
  traceRatio: number | undefined;
  /** Continuous profiling (src/profiling) on. */
  profiling?: boolean;
  /** Log lines also shipped straight to Elasticsearch (needs the bench's private node). */
  direct?: boolean;
}

export const MODE_PARTS: Record<Observability, ModeParts> = {
  off: { fileLog: false, metrics: false, traceRatio: undefined },
  log: { fileLog: true, metrics: false, traceRatio: undefined },
  metrics: { fileLog: false, metrics: true, traceRatio: undefined },
  trace100: { fileLog: true, metrics: false, traceRatio: 1 },
  trace10: { fileLog: true, metrics: false, traceRatio: 0.1 },
  all: { fileLog: true, metrics: true, traceRatio: 0.1 },
  profile: { fileLog: false, metrics: false, traceRatio: undefined, profiling: true },
  direct: { fileLog: true, metrics: false, traceRatio: undefined, direct: true },
};

export function shipsDirect(mode: Observability | undefined): boolean {
  return mode !== undefined && MODE_PARTS[mode].direct === true;
}

export function tracesIn(mode: Observability | undefined): boolean {
  return mode !== undefined && MODE_PARTS[mode].traceRatio !== undefined;
}

/** The OTEL_SERVICE_NAME of a traced mode's server, so the collector's output can be counted per mode. */
export function benchServiceName(mode: Observability): string {
  return `recoscope-bench-${mode}`;
}

export type ServerKind = 'bare-http' | 'bare-express' | 'service' | 'peer';

export interface ServerSpec {
  id: string;
  kind: ServerKind;
  observability?: Observability;
  /** The peer stack's sampling ratio (kind 'peer'). */
  traceRatio?: number;
  /** Another build of the service (kind 'service'), e.g. an older commit's, for a before/after run. */
  mainJs?: string;
  /** Extra environment for this server alone (kind 'service'), applied last. */
  env?: Record<string, string>;
  /** A bench module loaded into the server before the service (kind 'service', `node --require`). */
  preload?: string;
}

/** The OTEL_SERVICE_NAME of the peer stack's server. */
export const PEER_SERVICE_NAME = 'peer-bench';

export interface LaunchContext {
  /** Scratch directory of this benchmark run (log dirs, artifacts). */
  tmpRoot: string;
  apiKey: string;
  /** DATASET / SYNTHETIC_* and model settings for the service. */
  serviceEnv: Record<string, string>;
  /** Applied after everything else (experiments: `npm run bench -- --env K=V`). */
  overrideEnv?: Record<string, string>;
  /** OTLP/HTTP base URL of the running collector (trace mode only). */
  otlpEndpoint?: string;
  /** URL of the bench's private Elasticsearch (direct mode only). */
  esUrl?: string;
  /** CPU to pin the server to (taskset -c). */
  cpu?: number;
  startTimeoutMs: number;
}

const BARE_HTTP_JS = compiled('bench/servers/bare-http');
const BARE_EXPRESS_JS = compiled('bench/servers/bare-express');
const PEER_JS = compiled('bench/servers/peer');
/** Preload of `bench:profiling --floor`'s arms (bench/probes/sampler-floor.ts). */
export const SAMPLER_FLOOR_JS = compiled('bench/probes/sampler-floor');

function baseEnv(): Record<string, string> {
  // METRICS_PORT=0: no metrics listener (its default port would collide between instances).
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_ENV: 'production', METRICS_PORT: '0' };
}

/** The service's environment for one observability mode (see bench/README.md). */
export function serviceEnv(
  observability: Observability,
  ctx: LaunchContext,
  id: string,
  port: number,
  metricsPort = 0,
): Record<string, string> {
  const parts = MODE_PARTS[observability];
  const dir = join(ctx.tmpRoot, id);
  mkdirSync(dir, { recursive: true });
  const env: Record<string, string> = {
    ...baseEnv(),
    PORT: String(port),
    HOST: '127.0.0.1',
    API_KEY: ctx.apiKey,
    LOG_DIR: join(dir, 'logs'),
    ARTIFACTS_DIR: join(dir, 'artifacts'),
    LOG_STDOUT: 'false',
    LOG_FILE_ENABLED: String(parts.fileLog),
    METRICS_PORT: parts.metrics ? String(metricsPort) : '0',
    ...ctx.serviceEnv,
  };
  if (parts.profiling === true) {
    env.PROFILING_ENABLED = 'true';
    env.PROFILING_HZ = String(BENCH_PROFILING_HZ);
    env.PROFILING_DIR = join(dir, 'profiles');
  }
  if (parts.traceRatio !== undefined) {
    if (ctx.otlpEndpoint === undefined) throw new Error(`${observability} mode needs a collector endpoint`);
    if (parts.traceRatio >= 1) {
      env.OTEL_TRACES_SAMPLER = 'always_on';
    } else {
      env.OTEL_TRACES_SAMPLER = 'parentbased_traceidratio';
      env.OTEL_TRACES_SAMPLER_ARG = String(parts.traceRatio);
    }
    env.OTEL_EXPORTER_OTLP_ENDPOINT = ctx.otlpEndpoint;
    env.OTEL_SERVICE_NAME = benchServiceName(observability);
  }
  if (parts.direct === true) {
    if (ctx.esUrl === undefined) throw new Error(`${observability} mode needs an Elasticsearch URL`);
    env.LOG_ELASTICSEARCH_URL = ctx.esUrl;
    env.LOG_ELASTICSEARCH_INDEX = 'reco-logs-bench';
  }
  return { ...env, ...ctx.overrideEnv };
}

export interface LaunchedServer {
  server: ChildServer;
  /** The metrics endpoint's port, for modes with metrics. */
  metricsPort?: number;
}

export async function launchServer(spec: ServerSpec, ctx: LaunchContext): Promise<LaunchedServer> {
  if (spec.kind === 'service') {
    // stdout logging is off in every mode, so no `listening` line: choose the port here and
    // wait for /health instead.
    const mode = spec.observability ?? 'off';
    const port = await freePort();
    const metricsPort = MODE_PARTS[mode].metrics ? await freePort() : undefined;
    const url = `http://127.0.0.1:${port}`;
    const server = await startChildServer({
      args: [...(spec.preload === undefined ? [] : ['--require', spec.preload]), spec.mainJs ?? SERVICE_MAIN_JS],
      env: { ...serviceEnv(mode, ctx, spec.id, port, metricsPort), ...spec.env },
      readiness: { kind: 'poll', url, path: '/health' },
      timeoutMs: ctx.startTimeoutMs,
      keepStdout: false,
      ...(ctx.cpu === undefined ? {} : { cpu: ctx.cpu }),
    });
    return { server, ...(metricsPort === undefined ? {} : { metricsPort }) };
  }
  if (spec.kind === 'peer') {
    if (ctx.otlpEndpoint === undefined) throw new Error('the peer row needs a collector endpoint');
    const dir = join(ctx.tmpRoot, spec.id);
    mkdirSync(dir, { recursive: true });
    const ratio = spec.traceRatio ?? 0.1;
    const server = await startChildServer({
      args: [PEER_JS],
      env: {
        ...baseEnv(),
        PORT: '0',
        HOST: '127.0.0.1',
        API_KEY: ctx.apiKey,
        ARTIFACTS_DIR: join(dir, 'artifacts'),
        PEER_LOG_FILE: join(dir, 'logs', 'peer.ndjson'),
        OTEL_EXPORTER_OTLP_ENDPOINT: ctx.otlpEndpoint,
        OTEL_SERVICE_NAME: PEER_SERVICE_NAME,
        ...(ratio >= 1
          ? { OTEL_TRACES_SAMPLER: 'always_on' }
          : { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: String(ratio) }),
        ...ctx.serviceEnv,
      },
      timeoutMs: ctx.startTimeoutMs,
      keepStdout: false,
      ...(ctx.cpu === undefined ? {} : { cpu: ctx.cpu }),
    });
    return { server };
  }
  const server = await startChildServer({
    args: [spec.kind === 'bare-http' ? BARE_HTTP_JS : BARE_EXPRESS_JS],
    env: { ...baseEnv(), PORT: '0', HOST: '127.0.0.1' },
    timeoutMs: ctx.startTimeoutMs,
    keepStdout: false,
    ...(ctx.cpu === undefined ? {} : { cpu: ctx.cpu }),
  });
  return { server };
}
