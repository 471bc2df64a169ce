/**
 * The Elasticsearch client for the project's own tools (elk:setup, logs CLI, e2e tests), from
 * the same environment variables docker-compose's setup container sets:
 *   ELASTICSEARCH_URL       default http://127.0.0.1:9200
 *   ELASTICSEARCH_USERNAME  optional (basic auth, only with a password)
 *   ELASTICSEARCH_PASSWORD  optional
 */
import { Client, errors } from '@elastic/elasticsearch';

export const DEFAULT_ELASTICSEARCH_URL = 'http://127.0.0.1:9200';
export { LOGS_INDEX } from '../src/contracts';

export interface ElasticsearchSettings {
  url: string;
  username?: string;
  password?: string;
}

export function elasticsearchSettings(env: NodeJS.ProcessEnv = process.env): ElasticsearchSettings {
  const url = env.ELASTICSEARCH_URL?.trim() || DEFAULT_ELASTICSEARCH_URL;
  const username = env.ELASTICSEARCH_USERNAME?.trim() || undefined;
  const password = env.ELASTICSEARCH_PASSWORD || undefined;
  return { url, username, password };
}

export function createElasticsearchClient(
  settings: ElasticsearchSettings = elasticsearchSettings(),
  options: { requestTimeoutMs?: number; maxRetries?: number } = {},
): Client {
  return new Client({
    node: settings.url,
    ...(settings.username !== undefined && settings.password !== undefined
      ? { auth: { username: settings.username, password: settings.password } }
      : {}),
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    maxRetries: options.maxRetries ?? 2,
  });
}

/** True for "nothing answered" errors, as opposed to an answer from Elasticsearch. */
export function isUnreachable(error: unknown): boolean {
  return error instanceof errors.ConnectionError || error instanceof errors.TimeoutError || error instanceof errors.NoLivingConnectionsError;
}

/** One line for a terminal: what went wrong talking to Elasticsearch at `url`. */
export function describeElasticsearchError(error: unknown, url: string): string {
  if (isUnreachable(error)) {
    return `cannot reach Elasticsearch at ${url} (${(error as Error).message}); is it running? (npm run stack -- up es)`;
  }
  if (error instanceof errors.ResponseError) {
    const body = error.body as { error?: { type?: string; reason?: string; root_cause?: { reason?: string }[] } } | undefined;
    const reason = body?.error?.root_cause?.[0]?.reason ?? body?.error?.reason ?? error.message;
    return `Elasticsearch at ${url} answered ${error.statusCode ?? '?'}: ${body?.error?.type ?? 'error'}: ${reason}`;
  }
  return error instanceof Error ? error.message : String(error);
}
