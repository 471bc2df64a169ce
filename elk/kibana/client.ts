/**
 * The two Kibana HTTP calls the setup job makes: wait for Kibana to be available, and import
 * saved objects. The import request is built by `buildSavedObjectsImportRequest` — the same
 * function the setup job sends with and the unit test inspects — in the documented shape:
 *
 *   POST /api/saved_objects/_import?overwrite=true
 *   kbn-xsrf: <any value>                     (required by Kibana for every non-GET API call)
 *   Content-Type: multipart/form-data; boundary=...
 *   body: one part, form field name "file", an .ndjson file of saved objects
 *
 * Environment (docker-compose's setup job sets them):
 *   KIBANA_URL                 default http://127.0.0.1:5601
 *   KIBANA_USERNAME / KIBANA_PASSWORD, falling back to ELASTICSEARCH_USERNAME / _PASSWORD
 *   (with security on, a user allowed to manage saved objects, e.g. elastic)
 */
import { randomBytes } from 'node:crypto';

export const DEFAULT_KIBANA_URL = 'http://127.0.0.1:5601';
export const SAVED_OBJECTS_FILE_NAME = 'saved-objects.ndjson';

export interface KibanaSettings {
  url: string;
  username?: string;
  password?: string;
}

export function kibanaSettings(env: NodeJS.ProcessEnv = process.env): KibanaSettings {
  const url = env.KIBANA_URL?.trim() || DEFAULT_KIBANA_URL;
  const username = env.KIBANA_USERNAME?.trim() || env.ELASTICSEARCH_USERNAME?.trim() || undefined;
  const password = env.KIBANA_PASSWORD || env.ELASTICSEARCH_PASSWORD || undefined;
  return { url, username, password };
}

export interface KibanaRequest {
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  body?: Buffer;
}

function authHeaders(settings: KibanaSettings): Record<string, string> {
  if (settings.username === undefined || settings.password === undefined) return {};
  const token = Buffer.from(`${settings.username}:${settings.password}`).toString('base64');
  return { authorization: `Basic ${token}` };
}

function endpoint(settings: KibanaSettings, path: string): string {
  return new URL(path, settings.url.endsWith('/') ? settings.url : `${settings.url}/`).toString();
}

/**
 * The saved objects import request: multipart/form-data with the NDJSON as the `file` part.
 * `boundary` is random unless given (tests pass a fixed one to compare bytes).
 */
export function buildSavedObjectsImportRequest(
  settings: KibanaSettings,
  ndjson: string,
  options: { overwrite?: boolean; boundary?: string; fileName?: string } = {},
): KibanaRequest {
  const boundary = options.boundary ?? `----recoscope-${randomBytes(12).toString('hex')}`;
  const fileName = options.fileName ?? SAVED_OBJECTS_FILE_NAME;
  const body = Buffer.concat([
    Buffer.from(
      `--${boundary}\r\n` +
        `Content-Disposition: form-data; name="file"; filename="${fileName}"\r\n` +
        `Content-Type: application/ndjson\r\n\r\n`,
    ),
    Buffer.from(ndjson, 'utf8'),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  const overwrite = options.overwrite ?? true;
  return {
    method: 'POST',
    url: endpoint(settings, `api/saved_objects/_import?overwrite=${String(overwrite)}`),
    headers: {
      'kbn-xsrf': 'recoscope-setup',
      'content-type': `multipart/form-data; boundary=${boundary}`,
      'content-length': String(body.length),
      ...authHeaders(settings),
    },
    body,
  };
}

export function buildStatusRequest(settings: KibanaSettings): KibanaRequest {
  return { method: 'GET', url: endpoint(settings, 'api/status'), headers: { ...authHeaders(settings) } };
}

export interface KibanaResponse {
  status: number;
  body: unknown;
  text: string;
}

export async function sendKibanaRequest(request: KibanaRequest, timeoutMs = 60_000): Promise<KibanaResponse> {
  const res = await fetch(request.url, {
    method: request.method,
    headers: request.headers,
    ...(request.body !== undefined ? { body: request.body } : {}),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let body: unknown = undefined;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON (e.g. a proxy's HTML error page): keep the text for the error message
  }
  return { status: res.status, body, text };
}

export interface ImportError {
  id: string;
  type: string;
  error: { type: string; message?: string; references?: { type: string; id: string }[] };
}

export interface ImportResult {
  success: boolean;
  successCount: number;
  errors?: ImportError[];
}

export class KibanaError extends Error {}

/** Imports the NDJSON (overwriting objects with the same ids) and fails unless every object made it. */
export async function importSavedObjects(settings: KibanaSettings, ndjson: string): Promise<ImportResult> {
  const res = await sendKibanaRequest(buildSavedObjectsImportRequest(settings, ndjson));
  if (res.status !== 200) {
    throw new KibanaError(`Kibana at ${settings.url} answered ${res.status} to the saved objects import: ${res.text.slice(0, 500)}`);
  }
  const result = res.body as ImportResult;
  const expected = ndjson.split('\n').filter((line) => line.trim() !== '').length;
  if (!result.success || result.successCount !== expected) {
    const details = (result.errors ?? [])
      .map((e) => `${e.type} ${e.id}: ${e.error.type}${e.error.message !== undefined ? ` (${e.error.message})` : ''}`)
      .join('; ');
    throw new KibanaError(`saved objects import: ${result.successCount}/${expected} imported; ${details || res.text.slice(0, 500)}`);
  }
  return result;
}

interface StatusBody {
  status?: { overall?: { level?: string; state?: string } };
}

/**
 * Polls GET /api/status until Kibana reports itself available (8.x: `status.overall.level`
 * "available"; 7.x: `status.overall.state` "green"). Gives up after `timeoutMs`.
 */
export async function waitForKibana(settings: KibanaSettings, timeoutMs: number, onWait?: (why: string) => void): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  for (;;) {
    try {
      const res = await sendKibanaRequest(buildStatusRequest(settings), 10_000);
      const overall = (res.body as StatusBody | undefined)?.status?.overall;
      if (res.status === 200 && (overall?.level === 'available' || overall?.state === 'green')) return;
      if (res.status === 401 || res.status === 403) {
        throw new KibanaError(`Kibana at ${settings.url} refused our credentials (${res.status}): check ELASTIC_PASSWORD`);
      }
      last = `HTTP ${res.status}${overall?.level !== undefined ? `, status ${overall.level}` : ''}`;
    } catch (error) {
      if (error instanceof KibanaError) throw error;
      last = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() >= deadline) throw new KibanaError(`Kibana at ${settings.url} not available after ${Math.round(timeoutMs / 1000)} s (${last})`);
    onWait?.(last);
    await new Promise((resolveSleep) => setTimeout(resolveSleep, 2_000));
  }
}
