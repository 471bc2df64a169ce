/**
 * Searching the service's logs in Elasticsearch: query building, the search itself and a
 * terminal table. Used by `npm run logs` and by the logs e2e test.
 *
 * Query syntax: Elasticsearch query_string (Lucene syntax), with three conveniences so that
 * KQL-style input works too:
 *   - lower-case `and` / `or` / `not` become the operators AND / OR / NOT;
 *   - `field > 5`, `field >= 5`, `field < 5`, `field <= 5` become `field:>5` etc.;
 *   - terms are AND-ed by default (query_string's default is OR).
 * Quoted phrases are left alone. Examples:
 *   reco.model:knn and event.duration > 5000000
 *   http.response.status_code >= 400 and not reco.error_key:user_not_found
 *   event.dataset:recoscope.access and url.path:\/reco\/knn*
 *   message:"shutting down"
 */
import type { Client } from '@elastic/elasticsearch';
import type { QueryDslQueryContainer, SortOrder } from '@elastic/elasticsearch/lib/api/types';
import { LOGS_INDEX } from './client';

export interface LogSearchOptions {
  /** query_string query (see the module comment); empty = everything. */
  query?: string;
  /** Relative window back from now: "30s", "15m", "2h", "7d". */
  since?: string;
  /** Absolute bounds: ISO timestamps or Elasticsearch date math ("now-1h"). */
  from?: string;
  to?: string;
  /** All lines of one trace (trace.id). */
  traceId?: string;
  /** How many lines (default 50). */
  size?: number;
  index?: string;
  /** Newest lines first from Elasticsearch; they are returned oldest first (default). */
  order?: 'chronological' | 'newest-first';
}

export type LogDocument = Record<string, unknown>;

export interface LogHit {
  id: string;
  index: string;
  source: LogDocument;
}

export interface LogSearchResult {
  total: number;
  hits: LogHit[];
}

const RELATIVE = /^(\d+)(ms|s|m|h|d|w)$/;

/** "15m" → "now-15m"; throws on anything else. */
export function sinceToDateMath(since: string): string {
  const match = RELATIVE.exec(since.trim());
  if (match === null) throw new Error(`--since wants a number and a unit (ms, s, m, h, d, w), e.g. 15m; got "${since}"`);
  return `now-${match[1]}${match[2]}`;
}

/** KQL-style conveniences → query_string syntax (outside quoted phrases). */
export function normalizeQueryString(input: string): string {
  const parts = input.split(/("(?:[^"\\]|\\.)*")/);
  return parts
    .map((part, i) => {
      if (i % 2 === 1) return part; // a quoted phrase
      return part
        .replace(/(^|[\s(])(and|or|not)(?=[\s(])/g, (_m, pre: string, op: string) => `${pre}${op.toUpperCase()}`)
        .replace(/([A-Za-z_@][\w.@]*)\s*(>=|<=|>|<)\s*(?=[^\s=<>])/g, (_m, field: string, op: string) => `${field}:${op}`);
    })
    .join('');
}

export function buildLogQuery(options: LogSearchOptions): QueryDslQueryContainer {
  const filter: QueryDslQueryContainer[] = [];
  const must: QueryDslQueryContainer[] = [];
  const query = options.query?.trim();
  if (query) {
    must.push({
      query_string: {
        query: normalizeQueryString(query),
        default_operator: 'AND',
        // A type mismatch (text in a numeric field) matches nothing instead of failing.
        lenient: true,
        analyze_wildcard: true,
      },
    });
  }
  if (options.traceId) filter.push({ term: { 'trace.id': options.traceId } });
  const gte = options.from ?? (options.since !== undefined ? sinceToDateMath(options.since) : undefined);
  if (gte !== undefined || options.to !== undefined) {
    filter.push({
      range: { '@timestamp': { ...(gte !== undefined ? { gte } : {}), ...(options.to !== undefined ? { lte: options.to } : {}) } },
    });
  }
  if (must.length === 0 && filter.length === 0) return { match_all: {} };
  return { bool: { must, filter } };
}

export async function searchLogs(client: Client, options: LogSearchOptions): Promise<LogSearchResult> {
  const newestFirst = options.order === 'newest-first';
  // A trace is read start to end; otherwise take the newest `size` lines.
  const sortOrder: SortOrder = options.traceId !== undefined ? 'asc' : 'desc';
  const response = await client.search<LogDocument>({
    index: options.index ?? LOGS_INDEX,
    query: buildLogQuery(options),
    size: options.size ?? 50,
    // @timestamp has millisecond resolution; log.offset keeps lines of one file in order.
    sort: [{ '@timestamp': { order: sortOrder } }, { 'log.offset': { order: sortOrder, unmapped_type: 'long' } }],
    track_total_hits: true,
    ignore_unavailable: true,
  });
  const hits: LogHit[] = response.hits.hits.map((hit) => ({
    id: hit._id ?? '',
    index: hit._index,
    source: hit._source ?? {},
  }));
  if (sortOrder === 'desc' && !newestFirst) hits.reverse();
  const total = response.hits.total;
  return { total: typeof total === 'number' ? total : (total?.value ?? hits.length), hits };
}

/** Reads a dotted path from a nested document ("http.response.status_code"). */
export function getField(doc: LogDocument, path: string): unknown {
  if (path in doc) return doc[path];
  let node: unknown = doc;
  for (const part of path.split('.')) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

export interface Column {
  header: string;
  field: string;
  format?: (value: unknown) => string;
  /** Cut longer cells (the last column is never cut). */
  maxWidth?: number;
}

const durationMs = (value: unknown): string => (typeof value === 'number' ? (value / 1e6).toFixed(2) : '');

export const DEFAULT_COLUMNS: Column[] = [
  { header: 'TIMESTAMP', field: '@timestamp' },
  { header: 'LEVEL', field: 'log.level' },
  { header: 'METHOD', field: 'http.request.method' },
  { header: 'PATH', field: 'url.path', maxWidth: 32 },
  { header: 'STATUS', field: 'http.response.status_code' },
  { header: 'DUR_MS', field: 'event.duration', format: durationMs },
  { header: 'MODEL', field: 'reco.model' },
  { header: 'USER', field: 'reco.user_id' },
  { header: 'TRACE', field: 'trace.id' },
  { header: 'MESSAGE', field: 'message' },
];

export function columnsFor(fields: string[] | undefined): Column[] {
  if (fields === undefined || fields.length === 0) return DEFAULT_COLUMNS;
  return fields.map((field) => DEFAULT_COLUMNS.find((c) => c.field === field) ?? { header: field.toUpperCase(), field });
}

function cell(value: unknown, column: Column): string {
  if (value === undefined || value === null) return '';
  if (column.format) return column.format(value);
  if (typeof value === 'string') return value.replace(/\s+/g, ' ');
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value);
}

/** An aligned plain-text table, one row per hit. */
export function formatLogTable(hits: LogHit[], columns: Column[] = DEFAULT_COLUMNS): string {
  const rows = hits.map((hit) =>
    columns.map((column, i) => {
      const text = cell(getField(hit.source, column.field), column);
      const limit = i === columns.length - 1 ? undefined : column.maxWidth;
      return limit !== undefined && text.length > limit ? `${text.slice(0, limit - 1)}…` : text;
    }),
  );
  const widths = columns.map((column, i) => Math.max(column.header.length, ...rows.map((row) => row[i]?.length ?? 0)));
  const line = (cells: string[]) =>
    cells
      .map((text, i) => (i === cells.length - 1 ? text : text.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...rows.map(line)].join('\n');
}
