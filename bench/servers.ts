/** The processes under test: the two baselines and the service in its observability modes. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, startChildServer, type ChildServer } from '../loadtest/child-server';
import { SERVICE_MAIN_JS, compiled } from '../src/paths';

export type Observability = 'off' | 'log' | 'trace';

export const OBSERVABILITY_LABEL: Record<Observability, string> = {
  off: 'obs off',
  log: 'file log',
  trace: 'log+trace',
};

export type ServerKind = 'bare-http' | 'bare-express' | 'service';

export interface ServerSpec {
  id: string;
  kind: ServerKind;
  observability?: Observability;
}

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
  /** CPU to pin the server to (taskset -c). */
  cpu?: number;
  startTimeoutMs: number;
}

const BARE_HTTP_JS = compiled('bench/servers/bare-http');
const BARE_EXPRESS_JS = compiled('bench/servers/bare-express');

function baseEnv(): Record<string, string> {
  // METRICS_PORT=0: no metrics listener (its default port would collide between instances).
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_ENV: 'production', METRICS_PORT: '0' };
}

/** The service's environment for one observability mode (see bench/README.md). */
export function serviceEnv(observability: Observability, ctx: LaunchContext, id: string, port: number): Record<string, string> {
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
    LOG_FILE_ENABLED: observability === 'off' ? 'false' : 'true',
    ...ctx.serviceEnv,
  };
  if (observability === 'trace') {
    if (ctx.otlpEndpoint === undefined) throw new Error('trace mode needs a collector endpoint');
    env.OTEL_TRACES_SAMPLER = 'always_on';
    env.OTEL_EXPORTER_OTLP_ENDPOINT = ctx.otlpEndpoint;
    env.OTEL_SERVICE_NAME = 'recoscope-bench';
  }
  return { ...env, ...ctx.overrideEnv };
}

export async function launchServer(spec: ServerSpec, ctx: LaunchContext): Promise<ChildServer> {
  if (spec.kind === 'service') {
    // stdout logging is off in every mode, so no `listening` line: choose the port here and
    // wait for /health instead.
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    return startChildServer({
      args: [SERVICE_MAIN_JS],
      env: serviceEnv(spec.observability ?? 'off', ctx, spec.id, port),
      readiness: { kind: 'poll', url, path: '/health' },
      timeoutMs: ctx.startTimeoutMs,
      keepStdout: false,
      ...(ctx.cpu === undefined ? {} : { cpu: ctx.cpu }),
    });
  }
  return startChildServer({
    args: [spec.kind === 'bare-http' ? BARE_HTTP_JS : BARE_EXPRESS_JS],
    env: { ...baseEnv(), PORT: '0', HOST: '127.0.0.1' },
    timeoutMs: ctx.startTimeoutMs,
    keepStdout: false,
    ...(ctx.cpu === undefined ? {} : { cpu: ctx.cpu }),
  });
}
