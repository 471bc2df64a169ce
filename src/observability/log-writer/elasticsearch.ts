/**
 * Direct shipping: every log line also goes straight to Elasticsearch through
 * `winston-elasticsearch` (its bulk writer: a buffer flushed every `flushMs`, retried while
 * Elasticsearch is down), for hosts without Filebeat. Off unless LOG_ELASTICSEARCH_URL is set;
 * the package (and the Elasticsearch client under it) is only loaded then.
 *
 * What it keeps of Filebeat's promises, and what it cannot:
 *  - the same document: the line the file gets, parsed, with its dotted keys expanded (as
 *    Filebeat's `expand_keys` does);
 *  - no duplicates: `event.id` is the document `_id` and every action is a `create`, so a
 *    retried batch, or Filebeat shipping the same line, gets a 409 instead of a second copy
 *    (the library sends neither an `_id` nor `create` for a plain index: the client it is
 *    given rewrites each action line);
 *  - bounded memory: at most `maxDocs` documents wait (accepted, not yet indexed); a line
 *    arriving beyond that is dropped and counted. The library's own limit would drop silently,
 *    and it re-sends a whole batch when one item fails, so the bound and the bookkeeping are
 *    ours, by event id;
 *  - but no disk: what waits is in memory, so a kill -9 (or a crash) loses it, and an outage
 *    longer than the buffer lasts drops lines. Filebeat reads the files and loses neither.
 */
import { randomUUID } from 'node:crypto';
import type { Client as EsClient } from '@elastic/elasticsearch';
import type { ElasticsearchTransport as EsTransport, ElasticsearchTransportOptions } from 'winston-elasticsearch';

export interface ElasticsearchOutputOptions {
  url: string;
  index: string;
  /** Documents that may wait in memory (accepted, not yet in Elasticsearch). */
  maxDocs: number;
  flushMs: number;
}

export interface ElasticsearchOutputStats {
  /** Lines handed to the output. */
  accepted: number;
  /** Documents Elasticsearch created. */
  indexed: number;
  /** Documents Elasticsearch already had (409: a retry, or Filebeat shipped the line first). */
  alreadyIndexed: number;
  /** Documents Elasticsearch refused for good (a mapping error, a bad line). */
  rejected: number;
  /** Lines dropped because `maxDocs` documents were already waiting. */
  dropped: number;
  /** Failed bulk requests (Elasticsearch down or refusing): each is retried. */
  failedBulks: number;
  /** Documents waiting now. */
  waiting: number;
}

type BulkBody = Record<string, unknown>[];
interface BulkItem {
  status?: number;
  error?: unknown;
}
interface BulkResponse {
  errors?: boolean;
  items?: Record<string, BulkItem>[];
}
type BulkFn = (params: { body?: BulkBody; [key: string]: unknown }) => Promise<BulkResponse>;

/** `{"a.b": 1}` → `{a: {b: 1}}`, recursively; a key clash keeps the nested object's other keys. */
export function expandDottedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(expandDottedKeys);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(value as Record<string, unknown>)) {
    const child = expandDottedKeys(raw);
    const parts = key.split('.');
    let node = out;
    for (let i = 0; i < parts.length - 1; i++) {
      const part = parts[i]!;
      const next = node[part];
      if (next === null || typeof next !== 'object' || Array.isArray(next)) node[part] = {};
      node = node[part] as Record<string, unknown>;
    }
    const last = parts[parts.length - 1]!;
    const existing = node[last];
    if (existing !== null && typeof existing === 'object' && !Array.isArray(existing) && child !== null && typeof child === 'object' && !Array.isArray(child)) {
      Object.assign(existing, child);
    } else {
      node[last] = child;
    }
  }
  return out;
}

export class ElasticsearchOutput {
  readonly name = 'elasticsearch';
  private readonly transport: EsTransport;
  private readonly client: EsClient;
  /** Event ids accepted and not yet settled (indexed, already there, or rejected). */
  private readonly waiting = new Set<string>();
  private readonly counters = { accepted: 0, indexed: 0, alreadyIndexed: 0, rejected: 0, dropped: 0, failedBulks: 0 };
  lastError: string | undefined;
  private ended = false;
  /**
   * Set by a bulk request that failed (Elasticsearch unreachable), cleared by the next that
   * succeeds. Meanwhile new documents wait here, not in the library: each document it is
   * given while stopped restarts its flush loop, and each failed flush starts another health
   * check loop and counts an attempt on every document (which it drops at retryLimit).
   */
  private down = false;
  private held: Record<string, unknown>[] = [];

  constructor(private readonly options: ElasticsearchOutputOptions) {
    // Loaded here, not at the top: without LOG_ELASTICSEARCH_URL the service never pays for
    // the Elasticsearch client's start-up.
    /* eslint-disable @typescript-eslint/no-require-imports */
    const { Client } = require('@elastic/elasticsearch') as { Client: typeof EsClient };
    const { ElasticsearchTransport } = require('winston-elasticsearch') as { ElasticsearchTransport: typeof EsTransport };
    /* eslint-enable @typescript-eslint/no-require-imports */
    // The library retries; a client-level retry would send each failed batch twice.
    this.client = new Client({ node: options.url, maxRetries: 0, requestTimeout: 10_000 });
    const original = this.client.bulk.bind(this.client) as unknown as BulkFn;
    const wrapped: BulkFn = (params) => this.bulk(original, params);
    (this.client as unknown as { bulk: BulkFn }).bulk = wrapped;
    const transportOptions: ElasticsearchTransportOptions & { internalLogger: () => void } = {
      client: this.client,
      index: options.index,
      // The project's index template comes from `npm run elk:setup`, as for Filebeat.
      ensureIndexTemplate: false,
      flushInterval: options.flushMs,
      // Our bound (maxDocs, by event id) is the one that holds; the library's must never cut
      // first, since it drops without telling.
      bufferLimit: options.maxDocs + 1,
      // Attempts per document before the library gives up on it silently: a failed batch is
      // retried once Elasticsearch answers its health check again, so an outage costs one or
      // two attempts; this only ends a document Elasticsearch keeps refusing.
      retryLimit: 1000,
      useTransformer: false,
      // Not in the library's type declarations, read by its bulk writer.
      internalLogger: () => {
        // Indexing errors are counted per item in bulk(); the library would print documents.
      },
    };
    this.transport = new ElasticsearchTransport(transportOptions);
    // The library's own 'error' listener re-pipes a winston logger we do not use (and throws
    // without one): its errors are counted in bulk() instead.
    this.transport.removeAllListeners('error');
    this.transport.on('error', (error: unknown) => {
      this.lastError = errorText(error);
    });
    this.transport.on('warning', (error: unknown) => {
      this.lastError = errorText(error);
    });
  }

  /** Queues one serialised line (with or without its newline). Never throws, never blocks. */
  accept(line: string): void {
    this.counters.accepted++;
    if (this.ended || this.waiting.size >= this.options.maxDocs) {
      this.counters.dropped++;
      return;
    }
    let doc: Record<string, unknown>;
    try {
      doc = expandDottedKeys(JSON.parse(line)) as Record<string, unknown>;
    } catch {
      this.counters.rejected++;
      return;
    }
    const event = ((doc.event as Record<string, unknown> | undefined) ??= {});
    if (typeof event.id !== 'string') event.id = randomUUID();
    this.waiting.add(event.id as string);
    if (this.down) this.held.push(doc);
    else this.hand(doc);
  }

  private hand(doc: Record<string, unknown>): void {
    // winston-elasticsearch's log() only reads `info` (useTransformer: false) and queues it.
    void this.transport.log?.(doc, () => undefined);
  }

  private async bulk(original: BulkFn, params: { body?: BulkBody; [key: string]: unknown }): Promise<BulkResponse> {
    const body = params.body ?? [];
    const ids: string[] = [];
    const rewritten: BulkBody = [];
    for (let i = 0; i + 1 < body.length; i += 2) {
      const doc = body[i + 1]!;
      const eventId = (doc.event as Record<string, unknown> | undefined)?.id;
      const id = typeof eventId === 'string' ? eventId : randomUUID();
      ids.push(id);
      rewritten.push({ create: { _index: this.options.index, _id: id } }, doc);
    }
    let res: BulkResponse;
    try {
      res = await original({ ...params, body: rewritten });
    } catch (error) {
      this.counters.failedBulks++;
      this.lastError = errorText(error);
      this.down = true;
      throw error; // the library keeps the batch and retries it once Elasticsearch is healthy
    }
    if (this.down) {
      // The library's retry got through: what waited meanwhile goes to it now.
      this.down = false;
      const held = this.held;
      this.held = [];
      for (const doc of held) this.hand(doc);
    }
    let retry = false;
    (res.items ?? []).forEach((item, i) => {
      const result = Object.values(item)[0] ?? {};
      const id = ids[i]!;
      const status = result.status ?? 0;
      if (status >= 200 && status < 300) this.settle(id, 'indexed');
      else if (status === 409) this.settle(id, 'alreadyIndexed');
      else if (status === 429 || status >= 500) retry = true;
      else {
        const reason = result.error as { type?: string; reason?: string } | undefined;
        this.lastError = `document ${id} rejected (${status}): ${reason?.type ?? ''} ${reason?.reason ?? ''}`.slice(0, 300);
        this.settle(id, 'rejected');
      }
    });
    if (retry) {
      this.counters.failedBulks++;
      // The library re-sends the whole batch: the settled ones come back as 409s, not copies.
      return { ...res, errors: true };
    }
    return { ...res, errors: false };
  }

  private settle(id: string, outcome: 'indexed' | 'alreadyIndexed' | 'rejected'): void {
    if (this.waiting.delete(id)) this.counters[outcome]++;
  }

  stats(): ElasticsearchOutputStats {
    return { ...this.counters, waiting: this.waiting.size };
  }

  /**
   * Sends what waits, until nothing does or `timeoutMs` has passed; then stops. Returns how
   * many documents were still waiting (lost with the process).
   */
  async end(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (this.waiting.size > 0 && Date.now() < deadline) {
      await Promise.race([this.transport.flush().catch(() => undefined), delay(Math.max(0, deadline - Date.now()))]);
      if (this.waiting.size > 0) await delay(Math.min(200, Math.max(0, deadline - Date.now())));
    }
    this.ended = true;
    const left = this.waiting.size;
    // Stop the library's timers (flush ticks, health checks) so the process can exit.
    (this.transport as unknown as { bulkWriter?: { stop(): void; schedule: () => void } }).bulkWriter?.stop();
    await this.client.close().catch(() => undefined);
    return left;
  }
}

/** Error text without credentials a URL may carry (https://user:password@host). */
function errorText(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\/\/[^/@\s]+@/g, '//***@');
}

function delay(ms: number): Promise<void> {
  return new Promise((resolveDelay) => setTimeout(resolveDelay, ms).unref());
}
