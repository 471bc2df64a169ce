/**
 * Error groups from Elasticsearch, Sentry-style: one row per `error.grouping_key` (written on
 * every 4xx/5xx access line by src/http/grouping-key.ts) with its level, count, users
 * affected, first and last seen, and one sample (the newest line's trace id and message).
 *
 * One search, no documents fetched: a terms aggregation on the key with, per bucket, a
 * cardinality of reco.user_id, min/max @timestamp, a top_hits of size 1 and the split by
 * model version (reco.model_version, the registry version that served; `-` for failures
 * before a model was chosen, e.g. a 401).
 */
import type { Client } from '@elastic/elasticsearch';
import type { QueryDslQueryContainer } from '@elastic/elasticsearch/lib/api/types';
import { ACCESS_DATASET, LOGS_INDEX } from '../src/contracts';
import { sinceToDateMath } from './log-search';

export interface ErrorGroupsOptions {
  /** Only lines newer than this (30s, 15m, 1h, 7d); undefined = all time. */
  since?: string;
  /** `error` (5xx) or `warn` (4xx); undefined = both. */
  level?: 'error' | 'warn';
  /** Most groups to return (by count). */
  size: number;
  /** Only failures served by this model version (reco.model_version). */
  modelVersion?: string;
  index?: string;
}

export interface ErrorGroup {
  key: string;
  level: string;
  count: number;
  /** Distinct reco.user_id among the group's lines (approximate above 3000, like any cardinality). */
  users: number;
  firstSeen: string;
  lastSeen: string;
  sampleTraceId?: string;
  sampleMessage?: string;
  sampleStatus?: number;
  /** The group's count per model version, biggest first (`-`: no version on the line). */
  versions: { version: string; count: number }[];
}

export interface ErrorGroupsResult {
  /** Failed requests in the window (the sum of every group, also those beyond `size`). */
  total: number;
  groups: ErrorGroup[];
}

export const GROUPING_KEY_FIELD = 'error.grouping_key';
export const MODEL_VERSION_FIELD = 'reco.model_version';
/** The version bucket of lines without one. */
export const NO_VERSION = '-';

/** The search body: a query for failed access lines and the per-group aggregation. */
export function buildErrorGroupsSearch(options: ErrorGroupsOptions): { query: QueryDslQueryContainer; aggs: Record<string, unknown>; size: 0; track_total_hits: true } {
  const filter: QueryDslQueryContainer[] = [
    { term: { 'event.dataset': ACCESS_DATASET } },
    { exists: { field: GROUPING_KEY_FIELD } },
  ];
  if (options.since !== undefined) filter.push({ range: { '@timestamp': { gte: sinceToDateMath(options.since) } } });
  if (options.level !== undefined) filter.push({ term: { 'log.level': options.level } });
  if (options.modelVersion !== undefined) filter.push({ term: { [MODEL_VERSION_FIELD]: options.modelVersion } });
  return {
    size: 0,
    track_total_hits: true,
    query: { bool: { filter } },
    aggs: {
      groups: {
        terms: { field: GROUPING_KEY_FIELD, size: options.size, order: { _count: 'desc' } },
        aggs: {
          users: { cardinality: { field: 'reco.user_id' } },
          first_seen: { min: { field: '@timestamp' } },
          last_seen: { max: { field: '@timestamp' } },
          versions: { terms: { field: MODEL_VERSION_FIELD, size: 10, missing: NO_VERSION } },
          sample: {
            top_hits: {
              size: 1,
              sort: [{ '@timestamp': { order: 'desc' } }],
              _source: { includes: ['trace.id', 'error.message', 'message', 'log.level', 'http.response.status_code'] },
            },
          },
        },
      },
    },
  };
}

interface SampleSource {
  trace?: { id?: string };
  error?: { message?: string };
  message?: string;
  log?: { level?: string };
  http?: { response?: { status_code?: number } };
  // Filebeat may write dotted keys flat when expand_keys is off.
  'trace.id'?: string;
  'error.message'?: string;
  'log.level'?: string;
  'http.response.status_code'?: number;
}

interface GroupBucket {
  key: string;
  doc_count: number;
  users: { value: number };
  first_seen: { value_as_string?: string; value: number | null };
  last_seen: { value_as_string?: string; value: number | null };
  sample: { hits: { hits: { _source?: SampleSource }[] } };
  versions?: { buckets: { key: string; doc_count: number }[] };
}

export interface ErrorGroupsResponse {
  hits: { total?: number | { value: number } };
  aggregations?: { groups?: { buckets: GroupBucket[] } };
}

const isoTime = (v: { value_as_string?: string; value: number | null }): string =>
  v.value_as_string ?? (v.value === null ? '' : new Date(v.value).toISOString());

/** The rows of an error-groups search response, biggest group first. */
export function parseErrorGroups(response: ErrorGroupsResponse): ErrorGroupsResult {
  const total = typeof response.hits.total === 'number' ? response.hits.total : (response.hits.total?.value ?? 0);
  const groups = (response.aggregations?.groups?.buckets ?? []).map((b): ErrorGroup => {
    const s = b.sample.hits.hits[0]?._source ?? {};
    const group: ErrorGroup = {
      key: b.key,
      level: s.log?.level ?? s['log.level'] ?? '',
      count: b.doc_count,
      users: b.users.value,
      firstSeen: isoTime(b.first_seen),
      lastSeen: isoTime(b.last_seen),
      versions: (b.versions?.buckets ?? []).map((v) => ({ version: v.key, count: v.doc_count })),
    };
    const traceId = s.trace?.id ?? s['trace.id'];
    const message = s.error?.message ?? s['error.message'] ?? s.message;
    const status = s.http?.response?.status_code ?? s['http.response.status_code'];
    if (traceId !== undefined) group.sampleTraceId = traceId;
    if (message !== undefined) group.sampleMessage = message;
    if (status !== undefined) group.sampleStatus = status;
    return group;
  });
  return { total, groups };
}

export async function searchErrorGroups(client: Client, options: ErrorGroupsOptions): Promise<ErrorGroupsResult> {
  const response = await client.search({
    index: options.index ?? `${LOGS_INDEX}*`,
    ignore_unavailable: true,
    allow_no_indices: true,
    ...buildErrorGroupsSearch(options),
  });
  return parseErrorGroups(response);
}

/** An aligned table: one group per row, the sample message last (never cut). */
export function formatErrorGroups(result: ErrorGroupsResult): string {
  const header = ['KEY', 'LEVEL', 'COUNT', 'USERS', 'FIRST SEEN', 'LAST SEEN', 'BY MODEL VERSION', 'SAMPLE TRACE', 'SAMPLE MESSAGE'];
  const rows = result.groups.map((g) => [
    g.key,
    g.level,
    String(g.count),
    String(g.users),
    g.firstSeen,
    g.lastSeen,
    g.versions.map((v) => `${v.version}:${v.count}`).join(' '),
    g.sampleTraceId ?? '',
    (g.sampleMessage ?? '').replace(/\s+/g, ' '),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}
