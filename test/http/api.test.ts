/**
 * The HTTP contract of RecoServiceTemplate, checked in-process over real HTTP: the service's
 * own Express app (createApp) on a loopback port, with fake recommenders behind the real
 * model registry and the service's own logger writing to the log writer's memory output.
 * Status codes, bodies, headers, hostile inputs, and the access line each request leaves
 * behind. (The compiled service as a process: test/process.)
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { createApp } from '../../src/http/app';
import { drain, listen, serverUrl } from '../../src/http/server';
import { MODEL_NAMES } from '../../src/models/catalog';
import { withFaultInjection } from '../../src/models/fault-injection';
import { ModelRegistry } from '../../src/models/registry';
import type { ModelLookup, Recommender } from '../../src/models/types';
import { registerSecret } from '../../src/observability/redact';
import { rawRequest } from '../helpers/http';
import { MemoryLog } from '../helpers/memory-log';
import { accessRecords, field, type LogRecord } from '../helpers/service';

const API_KEY = 'contract-test-key-5f2a9c';
const AUTH = { Authorization: `Bearer ${API_KEY}` };
const K = 10;
/** Users above this are unknown to the fake models: cold start, all from the popular fallback. */
const KNOWN_USERS = 100_000;

interface ErrorBody {
  errors: { error_key: string; error_message: string; error_loc: string[] | null }[];
}

function errorOf(body: unknown): ErrorBody['errors'][number] {
  const parsed = body as ErrorBody;
  assert.ok(Array.isArray(parsed.errors), `expected an errors array, got ${JSON.stringify(body)}`);
  assert.equal(parsed.errors.length, 1);
  const [error] = parsed.errors;
  assert.ok(error);
  assert.ok('error_loc' in error, 'error_loc must be present (null when not about a field)');
  return error;
}

/** A recommender with a known answer: k distinct items derived from the user id. */
function fakeModel(name: string): Recommender {
  return {
    name,
    version: `${name}-v1`,
    recommend(userId, k, stages) {
      return stages.run('reco.score', () => {
        const coldStart = userId >= KNOWN_USERS;
        const first = coldStart ? 0 : userId % 1000;
        return { items: Array.from({ length: k }, (_, i) => first + i), coldStart, fallback: coldStart ? k : 0 };
      });
    },
  };
}

/** The lookup main() builds: the registry, every model wrapped in fault injection (user 666). */
function fakeModels(faultDivisor: number): ModelLookup {
  const registry = new ModelRegistry();
  for (const name of MODEL_NAMES) registry.add(fakeModel(name));
  return {
    get: (name) => {
      const model = registry.get(name);
      return model === undefined ? undefined : withFaultInjection(model, faultDivisor);
    },
    names: () => registry.names(),
  };
}

describe('HTTP API contract', () => {
  const log = new MemoryLog();
  const service = { url: '' };
  let server: Server;

  before(async () => {
    // As main() does: the key is a secret the log redaction knows about.
    registerSecret(API_KEY);
    log.attach();
    const app = createApp({ models: fakeModels(666), apiKey: API_KEY, kRecs: K });
    server = await listen(app, 0, '127.0.0.1');
    service.url = serverUrl(server);
  });

  after(async () => {
    await drain(server, 5_000);
  });

  it('GET /health answers "I am alive" without auth', async () => {
    const res = await rawRequest(service.url, '/health');
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /application\/json/);
    assert.equal(res.json(), 'I am alive');
  });

  for (const model of MODEL_NAMES) {
    it(`GET /reco/${model}/{id} returns the model's K items for that user`, async () => {
      const res = await rawRequest(service.url, `/reco/${model}/1`, { headers: AUTH });
      assert.equal(res.status, 200, res.body);
      assert.match(String(res.headers['content-type']), /application\/json/);
      assert.deepEqual(res.json(), { user_id: 1, items: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] });
    });
  }

  it('a user unknown to the model (cold start) still gets K items', async () => {
    const res = await rawRequest(service.url, '/reco/knn/999999999', { headers: AUTH });
    assert.equal(res.status, 200);
    assert.equal((res.json() as { items: number[] }).items.length, K);
  });

  describe('401 unauthorized', () => {
    const cases: [string, Record<string, string>][] = [
      ['no header', {}],
      ['wrong token', { Authorization: 'Bearer not-the-key' }],
      ['wrong scheme', { Authorization: `Basic ${API_KEY}` }],
      ['empty bearer', { Authorization: 'Bearer ' }],
      ['key as prefix', { Authorization: `Bearer ${API_KEY}x` }],
    ];
    for (const [name, headers] of cases) {
      it(name, async () => {
        const res = await rawRequest(service.url, '/reco/knn/1', { headers });
        assert.equal(res.status, 401);
        assert.equal(res.headers['www-authenticate'], 'Bearer');
        const error = errorOf(res.json());
        assert.equal(error.error_key, 'unauthorized');
        assert.equal(error.error_loc, null);
        assert.ok(!res.body.includes(API_KEY));
      });
    }
  });

  it('unknown model → 404 model_not_found', async () => {
    const res = await rawRequest(service.url, '/reco/nope/1', { headers: AUTH });
    assert.equal(res.status, 404);
    const error = errorOf(res.json());
    assert.equal(error.error_key, 'model_not_found');
    assert.equal(error.error_message, 'Model nope not found');
  });

  it('model names that look like object keys are not models', async () => {
    for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      const res = await rawRequest(service.url, `/reco/${name}/1`, { headers: AUTH });
      assert.equal(res.status, 404, name);
      assert.equal(errorOf(res.json()).error_key, 'model_not_found');
    }
  });

  it('user_id above 10^9 → 404 user_not_found', async () => {
    for (const id of ['1000000001', '99999999999999999999999', '9'.repeat(10_000)]) {
      const res = await rawRequest(service.url, `/reco/knn/${id}`, { headers: AUTH });
      assert.equal(res.status, 404);
      const error = errorOf(res.json());
      assert.equal(error.error_key, 'user_not_found');
      assert.ok(error.error_message.length < 200, 'the message clips a huge id');
    }
  });

  it('user_id exactly 10^9 is a valid (cold) user', async () => {
    const res = await rawRequest(service.url, '/reco/popular/1000000000', { headers: AUTH });
    assert.equal(res.status, 200);
  });

  describe('422 validation_error for ids that are not plain non-negative decimals', () => {
    const hostile = ['abc', '-1', '-0', '1e3', '0x10', '1.5', '%201', '1%20', '+1', '%EF%BC%91' /* fullwidth 1 */, '%D9%A1' /* arabic-indic 1 */, 'a'.repeat(10_000), '%00', 'null', 'Infinity', 'NaN'];
    for (const id of hostile) {
      it(JSON.stringify(id.length > 20 ? `${id.slice(0, 20)}…` : id), async () => {
        const res = await rawRequest(service.url, `/reco/knn/${id}`, { headers: AUTH });
        assert.equal(res.status, 422, res.body);
        const error = errorOf(res.json());
        assert.equal(error.error_key, 'validation_error');
        assert.deepEqual(error.error_loc, ['path', 'user_id']);
      });
    }
  });

  it('very long model names and path traversal are 404s, never 500s', async () => {
    const paths = [
      `/reco/${'m'.repeat(8_000)}/1`,
      '/reco/../../etc/passwd',
      '/reco/..%2F..%2Fetc%2Fpasswd/1',
      '/reco/knn/1/extra',
      '/reco/knn',
      '/%2e%2e/%2e%2e/etc/passwd',
    ];
    for (const path of paths) {
      const res = await rawRequest(service.url, path, { headers: AUTH });
      assert.ok(res.status === 404, `${path.slice(0, 40)} → ${res.status}`);
      const error = errorOf(res.json());
      assert.ok(['model_not_found', 'http_exception'].includes(error.error_key));
    }
  });

  it('malformed percent-encoding is a 4xx JSON error', async () => {
    const res = await rawRequest(service.url, '/reco/knn/%E0%A4%A', { headers: AUTH });
    assert.ok(res.status >= 400 && res.status < 500, String(res.status));
    errorOf(res.json());
  });

  it('unknown route → 404 http_exception "Not Found"', async () => {
    const res = await rawRequest(service.url, '/nothing/here');
    assert.equal(res.status, 404);
    const error = errorOf(res.json());
    assert.equal(error.error_key, 'http_exception');
    assert.equal(error.error_message, 'Not Found');
  });

  it('wrong method → 405 http_exception "Method Not Allowed"', async () => {
    for (const [method, path] of [
      ['POST', '/health'],
      ['DELETE', '/reco/knn/1'],
      ['PUT', '/reco/popular/1'],
    ] as const) {
      const res = await rawRequest(service.url, path, { method, headers: AUTH });
      assert.equal(res.status, 405, `${method} ${path}`);
      const error = errorOf(res.json());
      assert.equal(error.error_key, 'http_exception');
      assert.equal(error.error_message, 'Method Not Allowed');
    }
  });

  it('fault injection: user 666 → 500 server_error with no details', async () => {
    const res = await rawRequest(service.url, '/reco/knn/666', { headers: AUTH });
    assert.equal(res.status, 500);
    const error = errorOf(res.json());
    assert.equal(error.error_key, 'server_error');
    assert.equal(error.error_message, 'Internal Server Error');
    assert.ok(!res.body.includes('injected'), 'no internals in the response');
  });

  it('the service is still alive after all of the above', async () => {
    const res = await rawRequest(service.url, '/health');
    assert.equal(res.status, 200);
  });

  it('every request left one access line with ECS fields, levels by status, and no secret', async () => {
    const sentinel = `sentinel-${Date.now()}`;
    await rawRequest(service.url, '/reco/knn/42', { headers: { ...AUTH, 'User-Agent': sentinel } });
    await rawRequest(service.url, '/reco/knn/abc', { headers: { ...AUTH, 'User-Agent': `${sentinel}-422` } });
    await rawRequest(service.url, `/reco/knn/${API_KEY}`, { headers: { ...AUTH, 'User-Agent': `${sentinel}-path-key` } });
    // The access line is written on the response's 'close': wait for each one in the memory output.
    const byAgent = (agent: string) => (r: LogRecord) => field(r, 'user_agent.original') === agent;
    const ok = await log.waitFor(byAgent(sentinel));
    const bad = await log.waitFor(byAgent(`${sentinel}-422`));
    await log.waitFor(byAgent(`${sentinel}-path-key`));
    const records = log.records;
    const access = accessRecords(records);
    assert.equal(field(ok, 'log.level'), 'info');
    assert.equal(field(ok, 'http.request.method'), 'GET');
    assert.equal(field(ok, 'http.response.status_code'), 200);
    assert.equal(field(ok, 'url.path'), '/reco/knn/42');
    assert.equal(field(ok, 'reco.model'), 'knn');
    assert.equal(field(ok, 'reco.user_id'), 42);
    assert.equal(field(ok, 'reco.k'), K);
    assert.equal(field(ok, 'reco.items_count'), K);
    assert.equal(field(ok, 'reco.cold_start'), false);
    assert.equal(field(ok, 'reco.fallback'), 0);
    assert.equal(typeof field(ok, 'event.duration'), 'number');
    assert.ok((field(ok, 'event.duration') as number) > 0);
    assert.match(String(field(ok, 'event.id')), /^[0-9a-f-]{36}$/);
    assert.equal(field(ok, 'service.name'), 'recoscope');
    assert.ok(field(ok, 'client.ip'));

    assert.equal(field(bad, 'log.level'), 'warn');
    assert.equal(field(bad, 'error.type'), 'validation_error');
    assert.equal(field(bad, 'reco.error_key'), 'validation_error');
    assert.ok(field(bad, 'error.message'));

    const fault = access.find((r) => field(r, 'http.response.status_code') === 500);
    assert.ok(fault, 'the injected 500 has an access line');
    assert.equal(field(fault, 'log.level'), 'error');
    assert.equal(field(fault, 'error.type'), 'InjectedFaultError');
    assert.match(String(field(fault, 'error.stack_trace')), /InjectedFaultError/);

    const text = records.map((r) => JSON.stringify(r)).join('\n');
    assert.ok(!text.includes(API_KEY), 'the API key never appears in the log file');
    assert.ok(!/bearer\s+(?!\[REDACTED\])[A-Za-z0-9._~+/=-]{8,}/i.test(text), 'no bearer credential in the log file');
    assert.ok(text.includes('/reco/knn/[REDACTED]'), 'a key pasted into the path is redacted');
    // Each access line's id is unique (Filebeat uses it as the document _id).
    const ids = access.map((r) => field(r, 'event.id'));
    assert.equal(new Set(ids).size, ids.length);
  });
});
