/**
 * Experiments and feedback over real HTTP, in process: the service's app (createApp) with an
 * experiment whose arms name model references, resolved by a model lookup built here (the
 * way the registry resolves `<model>@<alias>`), the service's own logger writing to memory
 * and its own metrics. What each request answers, and what its lines and series say.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { FEEDBACK_DATASET, RECOMMENDATION_ID_HEADER, ROUTES } from '../../src/contracts';
import { armFor, Experiments, parseExperiments } from '../../src/experiments';
import { createApp } from '../../src/http/app';
import { drain, listen, serverUrl } from '../../src/http/server';
import type { ModelLookup, Recommender } from '../../src/models/types';
import { ServiceMetrics } from '../../src/observability/metrics';
import { registerSecret } from '../../src/observability/redact';
import { rawRequest, type RawResponse } from '../helpers/http';
import { MemoryLog } from '../helpers/memory-log';
import { parseExposition, sampleSum, sampleValue } from '../helpers/metrics';
import { buildOpenApiDocument } from '../../src/http/openapi';
import { accessRecords, field, type LogRecord } from '../helpers/service';

const API_KEY = 'experiments-test-key-9c41e7';
const AUTH = { Authorization: `Bearer ${API_KEY}` };
const K = 5;
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** A model whose answer says which version served: items start at the version's number. */
function model(name: string, version: string, first: number): Recommender & { version: string } {
  return { name, version, recommend: (_u, k) => ({ items: Array.from({ length: k }, (_, i) => first + i), coldStart: false, fallback: 0 }) };
}

const REFS = new Map<string, Recommender & { version: string }>([
  ['knn', model('knn', 'knn-v1', 100)],
  ['knn@production', model('knn', 'knn-v1', 100)],
  ['knn@staging', model('knn', 'knn-v2', 200)],
  ['popular', model('popular', 'popular-v1', 300)],
]);
const models: ModelLookup = { get: (ref) => REFS.get(ref), names: () => ['knn', 'popular'] };

const EXPERIMENTS = new Experiments(
  parseExperiments({
    experiments: [
      {
        name: 'homepage',
        salt: '2026-12',
        arms: [
          { name: 'control', model: 'knn@production', weight: 70 },
          { name: 'treatment', model: 'knn@staging', weight: 20 },
          { name: 'baseline', model: 'popular', weight: 10 },
        ],
      },
    ],
  }),
);
const HOMEPAGE = EXPERIMENTS.get('homepage')!;

/** A user of each arm (the first id armFor puts there). */
function userIn(arm: string): number {
  for (let u = 1; ; u++) if (armFor(HOMEPAGE, u).name === arm) return u;
}

describe('experiments and feedback over HTTP', () => {
  const log = new MemoryLog();
  let server: Server;
  let url = '';
  let metrics: ServiceMetrics;
  let agent = 0;

  before(async () => {
    registerSecret(API_KEY);
    log.attach();
    metrics = new ServiceMetrics({ routes: Object.values(ROUTES), defaultMetrics: false });
    metrics.setModels(
      [...new Set([...REFS.values()])].map((m) => ({ model: m.name, version: m.version, datasetFingerprint: 'fp', source: 'artifact', loadSeconds: 0 })),
    );
    metrics.setArms(EXPERIMENTS.armNames());
    const app = createApp({ models, experiments: EXPERIMENTS, apiKey: API_KEY, kRecs: K, metrics });
    server = await listen(app, 0, '127.0.0.1');
    url = serverUrl(server);
  });

  after(async () => {
    await drain(server, 5_000);
  });

  /** A request and its access line (found by a user agent of its own). */
  async function send(path: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ res: RawResponse; line: LogRecord; agent: string }> {
    const ua = `experiments-test-${++agent}`;
    const res = await rawRequest(url, path, { ...options, headers: { ...options.headers, 'User-Agent': ua } });
    const line = await log.waitFor((r) => field(r, 'event.dataset') !== FEEDBACK_DATASET && field(r, 'user_agent.original') === ua);
    return { res, line, agent: ua };
  }

  const feedbackLines = (): LogRecord[] => log.records.filter((r) => field(r, 'event.dataset') === FEEDBACK_DATASET);

  for (const [arm, version, first, served] of [
    ['control', 'knn-v1', 100, 'knn'],
    ['treatment', 'knn-v2', 200, 'knn'],
    ['baseline', 'popular-v1', 300, 'popular'],
  ] as const) {
    it(`/reco/homepage/<a ${arm} user> is served by ${served}@${version}, and every signal says so`, async () => {
      const user = userIn(arm);
      const { res, line } = await send(`/reco/homepage/${user}`, { headers: AUTH });
      assert.equal(res.status, 200, res.body);
      assert.deepEqual(res.json(), { user_id: user, items: Array.from({ length: K }, (_, i) => first + i) });
      const id = res.headers[RECOMMENDATION_ID_HEADER];
      assert.match(String(id), UUID_V4);
      assert.equal(accessRecords([line]).length, 1);
      assert.equal(field(line, 'reco.experiment'), 'homepage');
      assert.equal(field(line, 'reco.arm'), arm);
      assert.equal(field(line, 'reco.model'), served);
      assert.equal(field(line, 'reco.model_version'), version);
      assert.equal(field(line, 'reco.recommendation_id'), id);
      assert.equal(field(line, 'reco.user_id'), user);
    });
  }

  it('is sticky: a user asks three times, the same arm answers; each answer has an id of its own', async () => {
    const user = userIn('treatment');
    const ids = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const { res, line } = await send(`/reco/homepage/${user}`, { headers: AUTH });
      assert.equal(field(line, 'reco.arm'), 'treatment');
      ids.add(String(res.headers[RECOMMENDATION_ID_HEADER]));
    }
    assert.equal(ids.size, 3);
  });

  it('a plain model name still serves that model, with an id and its version but no arm', async () => {
    const { res, line } = await send('/reco/popular/7', { headers: AUTH });
    assert.equal(res.status, 200);
    assert.match(String(res.headers[RECOMMENDATION_ID_HEADER]), UUID_V4);
    assert.equal(field(line, 'reco.model'), 'popular');
    assert.equal(field(line, 'reco.model_version'), 'popular-v1');
    assert.equal(field(line, 'reco.experiment'), undefined);
    assert.equal(field(line, 'reco.arm'), undefined);
  });

  it('no recommendation id on a failure: 401, 422, 404', async () => {
    for (const [path, headers, status] of [
      ['/reco/homepage/1', {}, 401],
      ['/reco/homepage/x', AUTH, 422],
      ['/reco/nope/1', AUTH, 404],
    ] as const) {
      const { res, line } = await send(path, { headers });
      assert.equal(res.status, status);
      assert.equal(res.headers[RECOMMENDATION_ID_HEADER], undefined);
      assert.equal(field(line, 'reco.recommendation_id'), undefined);
    }
  });

  it('labels the request histogram and the recommendations counter by arm and model version (bounded)', async () => {
    const user = userIn('baseline');
    await send(`/reco/homepage/${user}`, { headers: AUTH });
    const s = parseExposition(await metrics.render(false));
    assert.ok(sampleSum(s, 'http_server_request_duration_seconds_count', { route: ROUTES.reco, status_code: '200', arm: 'baseline', model_version: 'popular-v1' }) >= 1);
    assert.ok(sampleSum(s, 'recoscope_recommendations_total', { model: 'popular', outcome: 'ok', arm: 'baseline', model_version: 'popular-v1' }) >= 1);
    assert.ok(sampleSum(s, 'recoscope_recommendations_total', { model: 'unknown', arm: 'none', model_version: 'none', outcome: 'unauthorized' }) >= 1);
    // Only configured arms, loaded versions, `none` and `other` are label values.
    const arms = new Set(s.filter((x) => x.labels.arm !== undefined).map((x) => x.labels.arm));
    const versions = new Set(s.filter((x) => x.labels.model_version !== undefined).map((x) => x.labels.model_version));
    for (const a of arms) assert.ok(['control', 'treatment', 'baseline', 'none', 'other'].includes(a!), a);
    for (const v of versions) assert.ok(['knn-v1', 'knn-v2', 'popular-v1', 'none', 'other'].includes(v!), v);
  });

  it('the OpenAPI document lists the experiment as a model_name and the feedback operation', () => {
    const doc = buildOpenApiDocument({ version: '0', models: models.names(), experiments: EXPERIMENTS.names(), kRecs: K, authThrottle: undefined });
    const text = JSON.stringify(doc);
    assert.match(text, /"enum":\["knn","popular","homepage"\]/);
    assert.match(text, /"operationId":"feedback"/);
    assert.match(text, new RegExp(`"${RECOMMENDATION_ID_HEADER}"`));
  });

  describe('POST /feedback', () => {
    const valid = (patch: Record<string, unknown> = {}): Record<string, unknown> => ({
      recommendation_id: '6f1c2a4e-8d3b-4c5a-9e7f-0a1b2c3d4e5f',
      user_id: 42,
      item_id: 7,
      event: 'click',
      ...patch,
    });
    const JSON_AUTH = { ...AUTH, 'Content-Type': 'application/json' };

    it('valid → 202 {"accepted":true} and one feedback line with the fields; the request\'s own access line has no reco', async () => {
      const before = feedbackLines().length;
      const { res, line } = await send(ROUTES.feedback, { method: 'POST', headers: JSON_AUTH, body: JSON.stringify(valid()) });
      assert.equal(res.status, 202, res.body);
      assert.deepEqual(res.json(), { accepted: true });
      const lines = feedbackLines().slice(before);
      assert.equal(lines.length, 1);
      const [fb] = lines;
      assert.equal(field(fb!, 'event.action'), 'feedback');
      assert.equal(field(fb!, 'log.level'), 'info');
      assert.equal(field(fb!, 'reco.recommendation_id'), valid().recommendation_id);
      assert.equal(field(fb!, 'reco.user_id'), 42);
      assert.equal(field(fb!, 'reco.item_id'), 7);
      assert.equal(field(fb!, 'reco.feedback_event'), 'click');
      assert.equal(field(fb!, 'reco.arm'), undefined, 'no arm for a recommendation this process did not serve');
      // The join of C's report: only the recommendation's access line carries its id.
      assert.equal(field(line, 'http.response.status_code'), 202);
      assert.equal(field(line, 'reco'), undefined);
    });

    it('each event kind is counted in recoscope_feedback_events_total{event}', async () => {
      const count = async (event: string) => sampleValue(parseExposition(await metrics.render(false)), 'recoscope_feedback_events_total', { event });
      for (const event of ['view', 'purchase', 'click']) {
        const before = await count(event);
        const { res } = await send(ROUTES.feedback, { method: 'POST', headers: JSON_AUTH, body: JSON.stringify(valid({ event })) });
        assert.equal(res.status, 202);
        assert.equal(await count(event), before + 1, event);
      }
    });

    it('a recommendation and its click: the ids match, the access line names the arm', async () => {
      const user = userIn('control');
      const reco = await send(`/reco/homepage/${user}`, { headers: AUTH });
      const id = String(reco.res.headers[RECOMMENDATION_ID_HEADER]);
      const items = (reco.res.json() as { items: number[] }).items;
      const fb = await send(ROUTES.feedback, { method: 'POST', headers: JSON_AUTH, body: JSON.stringify(valid({ recommendation_id: id, user_id: user, item_id: items[0] })) });
      assert.equal(fb.res.status, 202);
      const clicks = feedbackLines().filter((r) => field(r, 'reco.recommendation_id') === id);
      assert.equal(clicks.length, 1);
      // This process served it: the feedback line names the arm too (a dashboard's CTR by arm).
      assert.equal(field(clicks[0]!, 'reco.arm'), 'control');
      assert.equal(field(clicks[0]!, 'reco.experiment'), 'homepage');
      assert.equal(field(clicks[0]!, 'reco.model_version'), 'knn-v1');
      const served = accessRecords(log.records).filter((r) => field(r, 'reco.recommendation_id') === id);
      assert.equal(served.length, 1);
      assert.equal(field(served[0]!, 'reco.arm'), 'control');
    });

    const bad: [string, { headers?: Record<string, string>; body?: string; method?: string }, number, string, string[] | null][] = [
      ['no key', { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(valid()) }, 401, 'unauthorized', null],
      ['a wrong key', { headers: { Authorization: 'Bearer not-the-key-at-all', 'Content-Type': 'application/json' }, body: JSON.stringify(valid()) }, 401, 'unauthorized', null],
      ['no Content-Type', { headers: AUTH, body: JSON.stringify(valid()) }, 415, 'http_exception', null],
      ['text/plain', { headers: { ...AUTH, 'Content-Type': 'text/plain' }, body: JSON.stringify(valid()) }, 415, 'http_exception', null],
      ['malformed JSON', { headers: JSON_AUTH, body: '{"user_id": 4' }, 400, 'http_exception', ['body']],
      ['a body over 4 KB', { headers: JSON_AUTH, body: JSON.stringify(valid({ pad: 'x'.repeat(5000) })) }, 413, 'http_exception', null],
      ['an empty body', { headers: JSON_AUTH, body: '' }, 422, 'validation_error', ['body', 'recommendation_id']],
      ['an array', { headers: JSON_AUTH, body: '[1]' }, 422, 'validation_error', ['body']],
      ['a missing item_id', { headers: JSON_AUTH, body: JSON.stringify({ ...valid(), item_id: undefined }) }, 422, 'validation_error', ['body', 'item_id']],
      ['an unknown event', { headers: JSON_AUTH, body: JSON.stringify(valid({ event: 'like' })) }, 422, 'validation_error', ['body', 'event']],
      ['a negative user_id', { headers: JSON_AUTH, body: JSON.stringify(valid({ user_id: -1 })) }, 422, 'validation_error', ['body', 'user_id']],
      ['a user_id as a string', { headers: JSON_AUTH, body: JSON.stringify(valid({ user_id: '42' })) }, 422, 'validation_error', ['body', 'user_id']],
      ['a fractional item_id', { headers: JSON_AUTH, body: JSON.stringify(valid({ item_id: 1.5 })) }, 422, 'validation_error', ['body', 'item_id']],
      ['a recommendation_id that is not a UUID', { headers: JSON_AUTH, body: JSON.stringify(valid({ recommendation_id: 'abc' })) }, 422, 'validation_error', ['body', 'recommendation_id']],
      ['an unknown field', { headers: JSON_AUTH, body: JSON.stringify(valid({ extra: 1 })) }, 422, 'validation_error', ['body']],
      ['GET', { method: 'GET', headers: AUTH }, 405, 'http_exception', null],
    ];
    for (const [what, request, status, key, loc] of bad) {
      it(`${what} → ${status} ${key}, a warn access line, no feedback line`, async () => {
        const before = feedbackLines().length;
        const { res, line } = await send(ROUTES.feedback, { method: 'POST', ...request });
        assert.equal(res.status, status, res.body);
        const body = res.json() as { errors: { error_key: string; error_loc: string[] | null }[] };
        assert.equal(body.errors[0]?.error_key, key);
        assert.deepEqual(body.errors[0]?.error_loc, loc);
        if (status === 405) assert.equal(res.headers.allow, 'POST');
        if (status === 401) assert.equal(res.headers['www-authenticate'], 'Bearer');
        assert.equal(field(line, 'log.level'), 'warn');
        assert.equal(field(line, 'http.response.status_code'), status);
        assert.equal(feedbackLines().length, before, 'a rejected event left a feedback line');
      });
    }

    it('the key is in no line: not as the token, not pasted into a field', async () => {
      await send(ROUTES.feedback, { method: 'POST', headers: JSON_AUTH, body: JSON.stringify(valid({ recommendation_id: API_KEY })) });
      await send(ROUTES.feedback, { method: 'POST', headers: JSON_AUTH, body: JSON.stringify(valid({ [API_KEY]: 1 })) });
      await send(ROUTES.feedback, { method: 'POST', headers: JSON_AUTH, body: JSON.stringify(valid()) });
      const text = log.records.map((r) => JSON.stringify(r)).join('\n');
      assert.ok(text.includes('experiments-test-'), 'the lines were read');
      assert.ok(!text.includes(API_KEY), 'the API key was logged');
    });
  });
});
