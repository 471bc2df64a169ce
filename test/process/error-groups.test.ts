/**
 * error.grouping_key on the access line, through the real compiled service: every 4xx/5xx
 * line has one, the same failure from different users shares it, different failures do not,
 * and no key carries an id or client text.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rawRequest } from '../helpers/http';
import { accessRecords, field, readLogFile, startService, type LogRecord, type RunningService } from '../helpers/service';

const API_KEY = 'error-groups-test-key-81c3';
const AUTH = { Authorization: `Bearer ${API_KEY}` };

describe('error.grouping_key in the access log', () => {
  let service: RunningService;
  let access: LogRecord[] = [];
  const ua = (name: string) => ({ 'User-Agent': `groups-${name}` });

  const cases: Record<string, { path: string; headers: Record<string, string>; status: number }> = {
    fault666: { path: '/reco/knn/666', headers: AUTH, status: 500 },
    fault1332: { path: '/reco/popular/1332', headers: AUTH, status: 500 },
    modelA: { path: '/reco/nosuchmodel/1', headers: AUTH, status: 404 },
    modelB: { path: '/reco/othermodel-xyz/7', headers: AUTH, status: 404 },
    invalid: { path: '/reco/knn/abc', headers: AUTH, status: 422 },
    unauthorized: { path: '/reco/knn/1', headers: {}, status: 401 },
    unrouted: { path: '/no/such/path/123', headers: {}, status: 404 },
    ok: { path: '/reco/knn/1', headers: AUTH, status: 200 },
  };

  before(async () => {
    service = await startService({ env: { API_KEY, K_RECS: '10', FAULT_USER_DIVISOR: '666' } });
    for (const [name, c] of Object.entries(cases)) {
      const res = await rawRequest(service.url, c.path, { headers: { ...c.headers, ...ua(name) } });
      assert.equal(res.status, c.status, `${name}: ${res.body}`);
    }
    await service.stop();
    access = accessRecords(readLogFile(service.logFile));
  });

  after(async () => {
    await service?.stop();
  });

  const keyOf = (name: string): unknown => {
    const line = access.find((r) => field(r, 'user_agent.original') === `groups-${name}`);
    assert.ok(line, `access line of ${name}`);
    return field(line, 'error.grouping_key');
  };

  it('the injected fault is one group across users and models', () => {
    assert.equal(keyOf('fault666'), keyOf('fault1332'));
    assert.equal(keyOf('fault666'), '500 InjectedFaultError at <anonymous> (src/models/fault-injection.ts)');
  });

  it('4xx: one group per error key and route, whatever the model name or id', () => {
    assert.equal(keyOf('modelA'), keyOf('modelB'));
    assert.equal(keyOf('modelA'), '404 model_not_found /reco/:model_name/:user_id');
    assert.equal(keyOf('invalid'), '422 validation_error /reco/:model_name/:user_id');
    assert.equal(keyOf('unauthorized'), '401 unauthorized /reco/:model_name/:user_id');
    assert.equal(keyOf('unrouted'), '404 http_exception (unrouted)');
  });

  it('different failures are different groups; a 200 has none', () => {
    const keys = ['fault666', 'modelA', 'invalid', 'unauthorized', 'unrouted'].map(keyOf);
    assert.equal(new Set(keys).size, keys.length, keys.join('\n'));
    assert.equal(keyOf('ok'), undefined);
    for (const key of keys) assert.doesNotMatch(String(key), /666|1332|nosuchmodel|othermodel|abc|123/);
  });
});
