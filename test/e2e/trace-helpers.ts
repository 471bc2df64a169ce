/**
 * A real OpenTelemetry Collector for the trace e2e tests, and a reader for what it wrote.
 *
 * The collector is the one stack/stack.sh builds (otel-collector/builder-config.yaml) and
 * runs with otel-collector/config.local.yaml: OTLP in, OTLP JSON lines out through the file
 * exporter. Each test collector gets its own free ports, pid name and output file, so it can
 * run beside a stack collector on the default ports.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, stackCommand } from './stack';
import { ACCESS_DATASET } from '../../src/contracts';
import { sleep } from '../helpers/wait';

export interface TestCollector {
  /** For OTEL_EXPORTER_OTLP_ENDPOINT (OTLP/HTTP). */
  endpoint: string;
  filePath: string;
  stop(): Promise<void>;
}

/**
 * Builds the collector if needed (`stack/stack.sh up otelcol`), starts it, waits until
 * healthy. `extraEnv` reaches stack/otelcol.sh and the collector's config (e.g.
 * OTELCOL_EXTRA_CONFIG for tail sampling).
 */
export async function startCollector(label: string, extraEnv: Record<string, string> = {}): Promise<TestCollector> {
  const dir = mkdtempSync(join(tmpdir(), `recoscope-otelcol-${label}-`));
  const httpPort = await freePort();
  const env = {
    OTELCOL_NAME: `otelcol-e2e-${label}-${process.pid}`,
    OTELCOL_FILE_PATH: join(dir, 'traces.jsonl'),
    OTELCOL_OTLP_HTTP_PORT: String(httpPort),
    OTELCOL_OTLP_GRPC_PORT: String(await freePort()),
    OTELCOL_HEALTH_PORT: String(await freePort()),
    ...extraEnv,
  };
  await stackCommand(['up', 'otelcol'], env);
  return {
    endpoint: `http://127.0.0.1:${httpPort}`,
    filePath: env.OTELCOL_FILE_PATH,
    stop: async () => {
      await stackCommand(['down', 'otelcol'], env);
    },
  };
}

/**
 * Elasticsearch + a private Filebeat shipping one log directory into its own index, for the
 * log ↔ trace check. Elasticsearch is the stack's (stack/stack.sh, 127.0.0.1:$ES_PORT):
 * reused when it already answers (and then left running), otherwise started fresh and
 * stopped again. Filebeat runs from a private STACK_RUN_DIR, so it neither disturbs nor is
 * disturbed by a stack Filebeat.
 */
export interface LogShipping {
  esUrl: string;
  index: string;
  /** Access log documents in the index whose trace.id is `traceId`. */
  accessDocs(traceId: string): Promise<Record<string, unknown>[]>;
  stop(): Promise<void>;
}

async function esAnswers(esUrl: string): Promise<boolean> {
  try {
    const res = await fetch(`${esUrl}/_cluster/health`, { signal: AbortSignal.timeout(3000) });
    return res.ok;
  } catch {
    return false;
  }
}

export async function startLogShipping(label: string, logDir: string): Promise<LogShipping> {
  const esUrl = `http://127.0.0.1:${process.env.ES_PORT ?? '9200'}`;
  const startedEs = !(await esAnswers(esUrl));
  if (startedEs) await stackCommand(['up', 'es'], {});
  mkdirSync(logDir, { recursive: true });
  const index = `recoscope-e2e-${label}-${process.pid}`;
  const env = {
    STACK_RUN_DIR: mkdtempSync(join(tmpdir(), `recoscope-filebeat-${label}-`)),
    RECO_LOG_DIR: logDir,
    FILEBEAT_INDEX: index,
    FILEBEAT_HTTP_PORT: String(await freePort()),
    ELASTICSEARCH_HOSTS: esUrl,
  };
  await stackCommand(['up', 'filebeat'], env);
  return {
    esUrl,
    index,
    accessDocs: async (traceId) => {
      const res = await fetch(`${esUrl}/${index}/_search`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          size: 10,
          query: { bool: { filter: [{ match: { 'trace.id': traceId } }, { match: { 'event.dataset': ACCESS_DATASET } }] } },
        }),
      });
      // 404: nothing shipped yet, the index does not exist. 503: the index was just created
      // and its shard is not allocated yet. Both mean "not there yet"; the caller polls.
      if (res.status === 404 || res.status === 503) return [];
      if (!res.ok) throw new Error(`search ${index}: ${res.status} ${await res.text()}`);
      const body = (await res.json()) as { hits: { hits: { _source: Record<string, unknown> }[] } };
      return body.hits.hits.map((h) => h._source);
    },
    stop: async () => {
      await stackCommand(['down', 'filebeat'], env);
      await fetch(`${esUrl}/${index}`, { method: 'DELETE' }).catch(() => undefined);
      if (startedEs) await stackCommand(['down', 'es'], {});
    },
  };
}

export type AttributeValue = string | number | boolean | null | AttributeValue[];
export type Attributes = Record<string, AttributeValue>;

export interface FlatSpan {
  traceId: string;
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client. */
  kind: number;
  scope: string;
  attributes: Attributes;
  events: { name: string; attributes: Attributes }[];
  /** OTLP StatusCode: 0 unset, 1 ok, 2 error. */
  status: { code: number; message: string };
  resource: Attributes;
}

interface OtlpAnyValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: OtlpAnyValue[] };
}
interface OtlpKeyValue {
  key: string;
  value?: OtlpAnyValue;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: number;
  attributes?: OtlpKeyValue[];
  events?: { name: string; attributes?: OtlpKeyValue[] }[];
  status?: { code?: number; message?: string };
}
interface OtlpTracesData {
  resourceSpans?: {
    resource?: { attributes?: OtlpKeyValue[] };
    scopeSpans?: { scope?: { name?: string }; spans?: OtlpSpan[] }[];
  }[];
}

function anyValue(v: OtlpAnyValue | undefined): AttributeValue {
  if (v === undefined) return null;
  if (v.stringValue !== undefined) return v.stringValue;
  // OTLP JSON carries int64 as a string.
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.arrayValue !== undefined) return (v.arrayValue.values ?? []).map(anyValue);
  return null;
}

function attributes(list: OtlpKeyValue[] | undefined): Attributes {
  const out: Attributes = {};
  for (const kv of list ?? []) out[kv.key] = anyValue(kv.value);
  return out;
}

/** Every span in the collector's file so far (a partly written last line is ignored). */
export function readSpans(filePath: string): FlatSpan[] {
  if (!existsSync(filePath)) return [];
  const spans: FlatSpan[] = [];
  for (const line of readFileSync(filePath, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    let data: OtlpTracesData;
    try {
      data = JSON.parse(line) as OtlpTracesData;
    } catch {
      continue;
    }
    for (const rs of data.resourceSpans ?? []) {
      const resource = attributes(rs.resource?.attributes);
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) {
          spans.push({
            traceId: s.traceId,
            spanId: s.spanId,
            parentSpanId: s.parentSpanId ?? '',
            name: s.name,
            kind: s.kind ?? 0,
            scope: ss.scope?.name ?? '',
            attributes: attributes(s.attributes),
            events: (s.events ?? []).map((e) => ({ name: e.name, attributes: attributes(e.attributes) })),
            status: { code: s.status?.code ?? 0, message: s.status?.message ?? '' },
            resource,
          });
        }
      }
    }
  }
  return spans;
}

/**
 * Polls the file until `done(spans)` holds. The bound only stops a broken run from hanging:
 * nothing is asserted about how long export takes.
 */
export async function waitForSpans(
  filePath: string,
  done: (spans: FlatSpan[]) => boolean,
  describe: string,
  boundMs = 60_000,
): Promise<FlatSpan[]> {
  const deadline = Date.now() + boundMs;
  for (;;) {
    const spans = readSpans(filePath);
    if (done(spans)) return spans;
    if (Date.now() > deadline) {
      throw new Error(`collector never received ${describe}; it has ${spans.length} span(s):\n${spans.map((s) => `${s.traceId} ${s.spanId} <- ${s.parentSpanId} ${s.name}`).join('\n')}`);
    }
    await sleep(200);
  }
}

/** Every string anywhere in a span (attributes, event attributes, resource, name, status). */
export function spanStrings(span: FlatSpan): string[] {
  const out: string[] = [span.name, span.status.message];
  const walk = (v: AttributeValue) => {
    if (typeof v === 'string') out.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
  };
  for (const attrs of [span.attributes, span.resource, ...span.events.map((e) => e.attributes)]) {
    for (const [key, value] of Object.entries(attrs)) {
      out.push(key);
      walk(value);
    }
  }
  return out;
}
