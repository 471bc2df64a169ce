/**
 * An experiment's signals end to end, on real parts: the compiled service serving an
 * experiment (EXPERIMENTS_FILE) writes access and feedback lines → a real Filebeat (the
 * project's config, unchanged) → a real Elasticsearch with the project's index template.
 * Each recommendation's access document names the arm armFor assigns and the id its response
 * header gave; each feedback document joins one of them; the new reco.* fields are mapped as
 * the template says.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@elastic/elasticsearch';
import { createElasticsearchClient, LOGS_INDEX } from '../../elk/client';
import { getField, type LogDocument } from '../../elk/log-search';
import { setupElk } from '../../elk/setup';
import { mappedTypes } from './es-mapping';
import { ACCESS_DATASET, FEEDBACK_DATASET, RECOMMENDATION_ID_HEADER } from '../../src/contracts';
import { armFor, parseExperiments } from '../../src/experiments';
import { PROJECT_ROOT } from '../../src/paths';
import { rawRequest } from '../helpers/http';
import type { RunningService } from '../helpers/service';
import { createStack, removeStack, stackDown, stackUp, startService, waitFor, type TestStack } from './stack';

const API_KEY = `e2e-${randomUUID()}`;
const FILE = { experiments: [{ name: 'ab', salt: 'e2e', arms: [{ name: 'a-knn', model: 'knn', weight: 1 }, { name: 'b-popular', model: 'popular', weight: 1 }] }] };
const USERS = Array.from({ length: 20 }, (_, i) => i + 1);
const CLICKED = USERS.slice(0, 5);

describe('experiments: access and feedback lines → Filebeat → Elasticsearch', { timeout: 20 * 60_000 }, () => {
  let stack: TestStack;
  let es: Client;
  let service: RunningService | undefined;

  before(async () => {
    stack = await createStack('experiments');
    await stackUp(['es'], stack.env);
    es = createElasticsearchClient({ url: stack.esUrl });
    await setupElk(es, join(PROJECT_ROOT, 'elk', 'index-templates'));
    await stackUp(['filebeat'], stack.env);
    const file = join(stack.runDir, 'experiments.json');
    writeFileSync(file, JSON.stringify(FILE));
    service = await startService(stack, { env: { API_KEY, EXPERIMENTS_FILE: file } });
  });

  after(async () => {
    await service?.stop();
    await es?.close();
    if (stack !== undefined) {
      await stackDown(['es', 'filebeat'], stack.env);
      removeStack(stack);
    }
  });

  it('every recommendation names its arm and id, every feedback joins one, the fields are mapped', async () => {
    const [experiment] = parseExperiments(FILE);
    assert.ok(experiment && service);
    const served = new Map<string, number>();
    for (const user of USERS) {
      const res = await rawRequest(service.url, `/reco/ab/${user}`, { headers: { Authorization: `Bearer ${API_KEY}` } });
      assert.equal(res.status, 200, res.body);
      served.set(String(res.headers[RECOMMENDATION_ID_HEADER]), user);
    }
    const ids = [...served.keys()];
    for (const [i, user] of CLICKED.entries()) {
      const body = JSON.stringify({ recommendation_id: ids[i], user_id: user, item_id: 1, event: 'click' });
      const res = await rawRequest(service.url, '/feedback', { method: 'POST', headers: { Authorization: `Bearer ${API_KEY}`, 'Content-Type': 'application/json' }, body });
      assert.equal(res.status, 202, res.body);
    }

    const search = async (dataset: string): Promise<LogDocument[]> => {
      await es.indices.refresh({ index: LOGS_INDEX });
      const res = await es.search<LogDocument>({
        index: LOGS_INDEX,
        size: 100,
        query: { bool: { filter: [{ term: { 'event.dataset': dataset } }, { term: { 'reco.experiment': 'ab' } }] } },
      });
      return res.hits.hits.map((h) => h._source ?? {});
    };
    const access = await waitFor(async () => {
      const docs = await search(ACCESS_DATASET);
      return docs.length >= USERS.length && docs;
    }, 120_000, `${USERS.length} access documents of experiment ab`);
    assert.equal(access.length, USERS.length);
    for (const doc of access) {
      const id = String(getField(doc, 'reco.recommendation_id'));
      const user = served.get(id);
      assert.ok(user !== undefined, `access document with an id no response gave: ${id}`);
      assert.equal(getField(doc, 'reco.user_id'), user);
      assert.equal(getField(doc, 'reco.arm'), armFor(experiment, user).name);
      assert.equal(getField(doc, 'reco.model'), armFor(experiment, user).name === 'a-knn' ? 'knn' : 'popular');
      assert.equal(typeof getField(doc, 'reco.model_version'), 'string');
    }
    const feedback = await waitFor(async () => {
      const docs = await search(FEEDBACK_DATASET);
      return docs.length >= CLICKED.length && docs;
    }, 120_000, `${CLICKED.length} feedback documents of experiment ab`);
    assert.equal(feedback.length, CLICKED.length);
    for (const doc of feedback) {
      const id = String(getField(doc, 'reco.recommendation_id'));
      const user = served.get(id);
      assert.ok(user !== undefined, 'a feedback document joins a recommendation');
      assert.equal(getField(doc, 'event.action'), 'feedback');
      assert.equal(getField(doc, 'reco.feedback_event'), 'click');
      assert.equal(getField(doc, 'reco.arm'), armFor(experiment, user).name);
    }

    const typeOf = await mappedTypes(es);
    for (const field of ['reco.experiment', 'reco.arm', 'reco.model_version', 'reco.recommendation_id', 'reco.feedback_event']) {
      assert.equal(typeOf(field), 'keyword', field);
    }
    assert.equal(typeOf('reco.item_id'), 'long');
  });
});
