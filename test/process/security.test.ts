/**
 * API security basics over real HTTP: response headers, `bearer` in any case, CORS off by
 * default and exact by origin list, the wrong-key throttle (429 + Retry-After, one security
 * event per burst, never the key) and which client address it counts (TRUST_PROXY).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rawRequest } from '../helpers/http';
import { field, readLogFile, startService, type RunningService } from '../helpers/service';
import { waitUntil } from '../helpers/wait';

const KEY = 'security-test-key-7c1e09a4';
const AUTH = { Authorization: `Bearer ${KEY}` };
const APP = 'https://app.example.com';

function errorKey(body: string): string {
  return (JSON.parse(body) as { errors: { error_key: string }[] }).errors[0]!.error_key;
}

describe('security headers and auth', () => {
  let service: RunningService;
  before(async () => {
    service = await startService({ env: { API_KEY: KEY, AUTH_FAILURE_LIMIT: '5', AUTH_FAILURE_WINDOW_MS: '60000' } });
  });
  after(async () => {
    await service.stop();
  });

  it('every answer has nosniff and no X-Powered-By; /reco answers are no-store', async () => {
    const cases: [string, Record<string, string>, number][] = [
      ['/health', {}, 200],
      ['/reco/knn/1', AUTH, 200],
      ['/reco/knn/abc', AUTH, 422],
      ['/reco/nope/1', AUTH, 404],
      ['/nothing', {}, 404],
    ];
    for (const [path, headers, status] of cases) {
      const res = await rawRequest(service.url, path, { headers });
      assert.equal(res.status, status, path);
      assert.equal(res.headers['x-content-type-options'], 'nosniff', path);
      assert.equal(res.headers['x-powered-by'], undefined, path);
      if (path.startsWith('/reco/')) assert.equal(res.headers['cache-control'], 'no-store', path);
    }
    const post = await rawRequest(service.url, '/reco/knn/1', { method: 'POST', headers: AUTH });
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
  });

  it('the scheme name is case-insensitive (RFC 7235)', async () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) {
      const res = await rawRequest(service.url, '/reco/popular/1', { headers: { Authorization: `${scheme} ${KEY}` } });
      assert.equal(res.status, 200, scheme);
    }
    // (The key itself in another case is a 401: the first wrong key of the throttle test.)
  });

  it('CORS is off by default: no Access-Control-* header, a preflight is a 405', async () => {
    const res = await rawRequest(service.url, '/reco/knn/1', { headers: { ...AUTH, Origin: APP } });
    assert.equal(res.status, 200);
    assert.ok(!Object.keys(res.headers).some((h) => h.startsWith('access-control-')), JSON.stringify(res.headers));
    const preflight = await rawRequest(service.url, '/reco/knn/1', {
      method: 'OPTIONS',
      headers: { Origin: APP, 'Access-Control-Request-Method': 'GET' },
    });
    assert.equal(preflight.status, 405);
    assert.equal(preflight.headers['access-control-allow-origin'], undefined);
  });

  // Last in this block: it throttles this test's address (127.0.0.1) for a minute.
  it('after AUTH_FAILURE_LIMIT wrong keys an address gets 429 + Retry-After, even with the right key; one security event, no key', async () => {
    const wrongKeys = [KEY.toUpperCase(), ...Array.from({ length: 7 }, (_, i) => `wrong-key-${i}-${KEY.slice(0, 10)}`)];
    const statuses: number[] = [];
    for (const wrong of wrongKeys.slice(0, 5)) {
      statuses.push((await rawRequest(service.url, '/reco/knn/1', { headers: { Authorization: `Bearer ${wrong}` } })).status);
    }
    assert.deepEqual(statuses, [401, 401, 401, 401, 401]);
    for (const wrong of wrongKeys.slice(5)) {
      const res = await rawRequest(service.url, '/reco/knn/1', { headers: { Authorization: `Bearer ${wrong}` } });
      assert.equal(res.status, 429);
      assert.equal(errorKey(res.body), 'too_many_requests');
      const retryAfter = Number(res.headers['retry-after']);
      assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, String(res.headers['retry-after']));
      assert.equal(res.headers['cache-control'], 'no-store');
    }
    const right = await rawRequest(service.url, '/reco/knn/1', { headers: AUTH });
    assert.equal(right.status, 429, 'a throttled address learns nothing, not even that a key is right');
    assert.equal((await rawRequest(service.url, '/health', { headers: { 'User-Agent': 'throttle-barrier' } })).status, 200, '/health is not throttled');

    // Lines reach the file in the order they were logged: once the last request's access line
    // is there, so is every security event logged before it.
    await waitUntil(
      () => readLogFile(service.logFile).some((r) => field(r, 'user_agent.original') === 'throttle-barrier'),
      'the last request\'s access line in the file',
    );
    const records = [...readLogFile(service.logFile), ...service.stdoutRecords];
    const events = readLogFile(service.logFile).filter((r) => field(r, 'event.action') === 'auth-throttled');
    assert.equal(events.length, 1, 'one security event for the burst');
    const event = events[0]!;
    assert.equal(field(event, 'log.level'), 'warn');
    assert.equal(field(event, 'recoscope.auth_failures'), 5);
    assert.deepEqual(field(event, 'event.category'), ['authentication', 'intrusion_detection']);
    assert.equal(field(event, 'client.ip'), '127.0.0.1');
    const text = JSON.stringify(records);
    for (const key of [KEY, ...wrongKeys]) assert.ok(!text.includes(key), 'a key (right or wrong) in the log');
  });
});

describe('CORS by origin list, and TRUST_PROXY', () => {
  let service: RunningService;
  before(async () => {
    service = await startService({
      env: {
        API_KEY: KEY,
        NODE_ENV: 'production',
        CORS_ORIGINS: `${APP},http://localhost:3000`,
        TRUST_PROXY: 'loopback',
        AUTH_FAILURE_LIMIT: '3',
      },
    });
  });
  after(async () => {
    await service.stop();
  });

  it('an allowed origin is echoed (with Vary: Origin); another gets no CORS header', async () => {
    const allowed = await rawRequest(service.url, '/reco/knn/1', { headers: { ...AUTH, Origin: APP } });
    assert.equal(allowed.status, 200);
    assert.equal(allowed.headers['access-control-allow-origin'], APP);
    assert.match(String(allowed.headers.vary), /Origin/);
    assert.equal(allowed.headers['access-control-allow-credentials'], undefined);
    const other = await rawRequest(service.url, '/reco/knn/1', { headers: { ...AUTH, Origin: 'https://evil.example.com' } });
    assert.equal(other.status, 200);
    assert.equal(other.headers['access-control-allow-origin'], undefined);
    assert.match(String(other.headers.vary), /Origin/);
  });

  it('a preflight from an allowed origin is 204 with the allowed method and header; from another, 405', async () => {
    const preflight = await rawRequest(service.url, '/reco/knn/1', {
      method: 'OPTIONS',
      headers: { Origin: APP, 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'authorization' },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers['access-control-allow-origin'], APP);
    assert.equal(preflight.headers['access-control-allow-methods'], 'GET');
    assert.equal(preflight.headers['access-control-allow-headers'], 'Authorization');
    const denied = await rawRequest(service.url, '/reco/knn/1', {
      method: 'OPTIONS',
      headers: { Origin: 'https://evil.example.com', 'Access-Control-Request-Method': 'GET' },
    });
    assert.equal(denied.status, 405);
  });

  it('behind a trusted proxy the throttle counts the forwarded client address', async () => {
    const wrong = (client: string) =>
      rawRequest(service.url, '/reco/knn/1', { headers: { Authorization: 'Bearer wrong-key-for-proxy-test', 'X-Forwarded-For': client } });
    for (let i = 0; i < 3; i++) assert.equal((await wrong('203.0.113.9')).status, 401);
    assert.equal((await wrong('203.0.113.9')).status, 429);
    assert.equal((await wrong('198.51.100.4')).status, 401, 'another client behind the same proxy is not throttled');
  });
});

describe('TRUST_PROXY off (default): X-Forwarded-For is not believed', () => {
  let service: RunningService;
  before(async () => {
    service = await startService({ env: { API_KEY: KEY, AUTH_FAILURE_LIMIT: '3' } });
  });
  after(async () => {
    await service.stop();
  });

  it('a guesser cannot step around the throttle by inventing X-Forwarded-For addresses', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await rawRequest(service.url, '/reco/knn/1', {
        headers: { Authorization: 'Bearer wrong-key-spoofing-test', 'X-Forwarded-For': `203.0.113.${i + 1}` },
      });
      statuses.push(res.status);
    }
    assert.deepEqual(statuses, [401, 401, 401, 429, 429]);
  });
});
