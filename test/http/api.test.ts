/**
 * The HTTP contract of RecoServiceTemplate, checked over real HTTP against the compiled
 * service in a child process: status codes, bodies, headers, hostile inputs, and the access
 * log line each request leaves behind.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rawRequest } from '../helpers/http';
import { accessRecords, field, readLogFile, startService, type RunningService } from '../helpers/service';

const API_KEY = 'contract-test-key-5f2a9c';
const AUTH = { Authorization: `Bearer ${API_KEY}` };

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

describe('HTTP API contract', () => {
  let service: RunningService;

  before(async () => {
    service = await startService({ env: { API_KEY, K_RECS: '10', FAULT_USER_DIVISOR: '666' } });
  });

  after(async () => {
    await service.stop();
  });

  it('GET /health answers "I am alive" without auth', async () => {
    const res = await rawRequest(service.url, '/health');
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /application\/json/);
    assert.equal(res.json(), 'I am alive');
  });

  for (const model of ['popular', 'knn', 'knn_cosine', 'knn_tfidf']) {
    it(`GET /reco/${model}/{id} returns K distinct item ids`, async () => {
      const res = await rawRequest(service.url, `/reco/${model}/1`, { headers: AUTH });
      assert.equal(res.status, 200, res.body);
      const body = res.json() as { user_id: number; items: number[] };
      assert.equal(body.user_id, 1);
      assert.equal(body.items.length, 10);
      assert.equal(new Set(body.items).size, 10);
      for (const item of body.items) assert.ok(Number.isInteger(item) && item >= 0);
    });
  }

  it('a user unknown to the model (cold start) still gets K items', async () => {
    const res = await rawRequest(service.url, '/reco/knn/999999999', { headers: AUTH });
    assert.equal(res.status, 200);
    assert.equal((res.json() as { items: number[] }).items.length, 10);
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
    // Let the file transport flush.
    await new Promise((r) => setTimeout(r, 300));
    const records = readLogFile(service.logFile);
    const access = accessRecords(records);
    const ok = access.find((r) => field(r, 'user_agent.original') === sentinel);
    assert.ok(ok, 'the 200 request has an access line');
    assert.equal(field(ok, 'log.level'), 'info');
    assert.equal(field(ok, 'http.request.method'), 'GET');
    assert.equal(field(ok, 'http.response.status_code'), 200);
    assert.equal(field(ok, 'url.path'), '/reco/knn/42');
    assert.equal(field(ok, 'reco.model'), 'knn');
    assert.equal(field(ok, 'reco.user_id'), 42);
    assert.equal(field(ok, 'reco.k'), 10);
    assert.equal(field(ok, 'reco.items_count'), 10);
    assert.equal(typeof field(ok, 'reco.cold_start'), 'boolean');
    assert.equal(typeof field(ok, 'reco.fallback'), 'number');
    assert.equal(typeof field(ok, 'event.duration'), 'number');
    assert.ok((field(ok, 'event.duration') as number) > 0);
    assert.match(String(field(ok, 'event.id')), /^[0-9a-f-]{36}$/);
    assert.equal(field(ok, 'service.name'), 'recoscope');
    assert.ok(field(ok, 'client.ip'));

    const bad = access.find((r) => field(r, 'user_agent.original') === `${sentinel}-422`);
    assert.ok(bad);
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
