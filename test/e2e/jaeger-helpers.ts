/**
 * Reading traces back from a real Jaeger (stack/jaeger.sh) through its HTTP query API, the one
 * Jaeger's UI uses: `GET /api/traces/{traceId}` → `{ data: [{ traceID, spans, processes }] }`.
 * Spans come back in Jaeger's model: parent links as CHILD_OF references, attributes as
 * `tags`, span events as `logs` (the event name in the `event` field), the span kind as the
 * `span.kind` tag, an ERROR status as the `error` tag and `otel.status_code`.
 */
import { join } from 'node:path';
import type { Client } from '@elastic/elasticsearch';
import { createElasticsearchClient } from '../../elk/client';
import { setupElk } from '../../elk/setup';
import { PROJECT_ROOT } from '../../src/paths';
import { freePort, stackUp, waitFor, type TestStack } from './stack';

export interface JaegerKeyValue {
  key: string;
  type: string;
  value: unknown;
}

export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: { refType: string; traceID: string; spanID: string }[];
  tags: JaegerKeyValue[];
  logs: { timestamp: number; fields: JaegerKeyValue[] }[];
  processID: string;
}

export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string; tags: JaegerKeyValue[] }>;
}

/** Ports and the collector → Jaeger endpoint for one test stack (stack/jaeger.sh variables). */
export async function jaegerEnv(): Promise<Record<string, string>> {
  const grpc = await freePort();
  return {
    JAEGER_OTLP_GRPC_PORT: String(grpc),
    JAEGER_OTLP_HTTP_PORT: String(await freePort()),
    JAEGER_QUERY_PORT: String(await freePort()),
    JAEGER_QUERY_GRPC_PORT: String(await freePort()),
    JAEGER_METRICS_PORT: String(await freePort()),
    // The collector's otlp_grpc/jaeger exporter (otel-collector/config.local.yaml).
    JAEGER_OTLP_ENDPOINT: `127.0.0.1:${grpc}`,
  };
}

/** Ports and output file of the stack's collector, so it runs beside any other. */
export async function collectorEnv(runDir: string): Promise<Record<string, string>> {
  return {
    OTELCOL_OTLP_HTTP_PORT: String(await freePort()),
    OTELCOL_OTLP_GRPC_PORT: String(await freePort()),
    OTELCOL_HEALTH_PORT: String(await freePort()),
    OTELCOL_FILE_PATH: `${runDir}/otelcol/traces.jsonl`,
  };
}

export const jaegerQueryUrl = (env: Record<string, string>): string => `http://127.0.0.1:${env.JAEGER_QUERY_PORT}`;
export const collectorOtlpUrl = (env: Record<string, string>): string => `http://127.0.0.1:${env.OTELCOL_OTLP_HTTP_PORT}`;

/** The API URL of one trace: the format the e2e tests use. */
export const jaegerTraceApiUrl = (base: string, traceId: string): string => `${base}/api/traces/${traceId}`;

/** One trace from Jaeger's query API; undefined while Jaeger does not have it (404). */
export async function fetchJaegerTrace(base: string, traceId: string): Promise<JaegerTrace | undefined> {
  const res = await fetch(jaegerTraceApiUrl(base, traceId), { signal: AbortSignal.timeout(10_000) });
  if (res.status === 404) return undefined;
  if (!res.ok) throw new Error(`GET /api/traces/${traceId}: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { data: JaegerTrace[] | null };
  return body.data?.[0];
}

/**
 * Polls until Jaeger has the trace with its root span and at least `minSpans` spans (a
 * trace's spans arrive in batches; the server span ends, and is exported, last). The bound
 * only stops a broken run.
 */
export async function waitForJaegerTrace(base: string, traceId: string, minSpans: number, timeoutMs = 90_000): Promise<JaegerTrace> {
  return waitFor(
    async () => {
      const t = await fetchJaegerTrace(base, traceId);
      return t !== undefined && t.spans.length >= minSpans && t.spans.some((s) => parentOf(s) === '') ? t : undefined;
    },
    timeoutMs,
    `trace ${traceId} with ${minSpans} span(s) in Jaeger at ${base}`,
  );
}

export function tag(span: JaegerSpan, key: string): unknown {
  return span.tags.find((t) => t.key === key)?.value;
}

/** The parent span id ('' for a root). */
export function parentOf(span: JaegerSpan): string {
  return span.references.find((r) => r.refType === 'CHILD_OF')?.spanID ?? '';
}

/** Span events as Jaeger returns them: name → fields. */
export function events(span: JaegerSpan): { name: string; fields: Record<string, unknown> }[] {
  return span.logs.map((log) => {
    const fields = Object.fromEntries(log.fields.map((f) => [f.key, f.value]));
    const name = fields.event;
    return { name: typeof name === 'string' ? name : '', fields };
  });
}

export function isError(span: JaegerSpan): boolean {
  return tag(span, 'error') === true || tag(span, 'otel.status_code') === 'ERROR';
}

export interface JaegerRequestTree {
  server: JaegerSpan;
  route: JaegerSpan;
  /** Stage spans (reco.*) by name. */
  stages: Map<string, JaegerSpan>;
}

/**
 * The request's span tree as docs/traces.md draws it, or a thrown description of how the
 * trace differs: one root server span `GET /reco/:model_name/:user_id` → one express
 * `request handler - …` span → the reco.* stage spans, and nothing else.
 */
export function requestTree(trace: JaegerTrace, route = '/reco/:model_name/:user_id'): JaegerRequestTree {
  const names = trace.spans.map((s) => `${s.operationName} (${s.spanID} <- ${parentOf(s) || 'root'})`).join(', ');
  const roots = trace.spans.filter((s) => parentOf(s) === '');
  if (roots.length !== 1) throw new Error(`expected one root span, got: ${names}`);
  const server = roots[0]!;
  if (server.operationName !== `GET ${route}` || tag(server, 'span.kind') !== 'server') throw new Error(`root is not the server span: ${names}`);
  const routes = trace.spans.filter((s) => parentOf(s) === server.spanID);
  if (routes.length !== 1 || routes[0]!.operationName !== `request handler - ${route}`) throw new Error(`expected one route span under the server span: ${names}`);
  const routeSpan = routes[0]!;
  const stages = new Map<string, JaegerSpan>();
  for (const s of trace.spans.filter((x) => x !== server && x !== routeSpan)) {
    if (!s.operationName.startsWith('reco.') || parentOf(s) !== routeSpan.spanID) throw new Error(`unexpected span ${s.operationName}: ${names}`);
    if (stages.has(s.operationName)) throw new Error(`${s.operationName} twice: ${names}`);
    stages.set(s.operationName, s);
  }
  return { server, route: routeSpan, stages };
}

/**
 * Logs and traces for one test stack: Elasticsearch (index templates set up), Jaeger, the
 * collector and Filebeat, on free ports (their variables added to `stack.env`). Returns the
 * Elasticsearch client (closed again if a later step fails) and Jaeger's query URL.
 */
export async function upTracePipeline(stack: TestStack): Promise<{ es: Client; jaeger: string }> {
  Object.assign(stack.env, await jaegerEnv(), await collectorEnv(stack.runDir));
  const jaeger = jaegerQueryUrl(stack.env);
  await stackUp(['es'], stack.env);
  const es = createElasticsearchClient({ url: stack.esUrl });
  try {
    await setupElk(es, join(PROJECT_ROOT, 'elk', 'index-templates'));
    await stackUp(['jaeger', 'otelcol', 'filebeat'], stack.env);
  } catch (error) {
    await es.close();
    throw error;
  }
  return { es, jaeger };
}
