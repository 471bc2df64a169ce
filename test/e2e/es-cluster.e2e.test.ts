/**
 * Elasticsearch as a three-node cluster (stack/es.sh, ES_NODES=3) behind a real Filebeat that
 * is given all three hosts: the log index has one replica, one node is killed -9 while the
 * service is under load and started again, and afterwards every line the service wrote is in
 * the index exactly once (0 lost, 0 duplicated: the document id is the line's event.id) and
 * the cluster is back to green.
 *
 * No timing is asserted: every wait polls with a bound that only stops a broken run.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createElasticsearchClient } from '../../elk/client';
import { setupElk } from '../../elk/setup';
import { PROJECT_ROOT } from '../../src/paths';
import { rawRequest } from '../helpers/http';
import { accessRecords, field, type RunningService } from '../helpers/service';
import {
  createStack,
  freePort,
  orphans,
  readLogDir,
  removeStack,
  stackDown,
  stackPid,
  stackStart,
  stackUp,
  startService,
  waitFor,
  type TestStack,
} from './stack';

const API_KEY = 'e2e-es-cluster-key-9d4e1b7a';
const AUTH = { Authorization: `Bearer ${API_KEY}` };
const INDEX = 'reco-logs-cluster';
const KILLED_NODE = 2;
const CONCURRENCY = 4;

interface Health {
  status: string;
  number_of_nodes: number;
}

async function esJson<T>(url: string, init?: RequestInit): Promise<T> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${url}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

/** The state letter of /proc/PID/stat: a killed daemon may linger as a zombie (Z). */
function processGone(pid: number): boolean {
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

describe('Elasticsearch cluster: a node killed under load', { timeout: 40 * 60_000 }, () => {
  let stack: TestStack;
  let urls: string[] = [];
  let service: RunningService | undefined;
  const statuses = new Map<number, number>();
  let requests = 0;
  let nodesWhileDown = 0;
  let lines: Record<string, unknown>[] = [];
  const docIds: string[] = [];
  let finalHealth: Health | undefined;
  let indexSettings: { number_of_replicas?: string; number_of_shards?: string } = {};
  let shippingProblem = '';

  /** Any node that answers (the killed one does not). */
  const anyNode = async (path: string): Promise<unknown> => {
    let last: unknown;
    for (const url of urls) {
      try {
        return await esJson(`${url}${path}`);
      } catch (error) {
        last = error;
      }
    }
    throw last instanceof Error ? last : new Error(String(last));
  };

  before(async () => {
    const httpPorts = [await freePort(), await freePort(), await freePort()];
    const transportPorts = [await freePort(), await freePort(), await freePort()];
    urls = httpPorts.map((p) => `http://127.0.0.1:${p}`);
    stack = await createStack('escluster', {
      ES_NODES: '3',
      ES_PORT: String(httpPorts[0]),
      ES_HTTP_PORTS: httpPorts.join(','),
      ES_TRANSPORT_PORTS: transportPorts.join(','),
      ES_HEAP: '512m',
      // Filebeat balances over every node and keeps shipping to the others while one is down.
      ELASTICSEARCH_HOSTS: urls.join(','),
      FILEBEAT_INDEX: INDEX,
    });
    await stackUp(['es'], stack.env);
    // The project's template and index first (npm run elk:setup's code), then one replica:
    // whichever node dies, the shard keeps a copy on another.
    await setupElk(createElasticsearchClient({ url: urls[0]! }), join(PROJECT_ROOT, 'elk', 'index-templates'), INDEX);
    await esJson(`${urls[0]}/${INDEX}/_settings`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ index: { number_of_replicas: 1 } }),
    });
    await esJson(`${urls[0]}/_cluster/health/${INDEX}?wait_for_status=green&timeout=120s`);
    await stackUp(['filebeat'], stack.env);
    service = await startService(stack, { env: { API_KEY } });

    let stop = false;
    const svc = service;
    const worker = async (w: number): Promise<void> => {
      for (let i = 0; !stop; i++) {
        const res = await rawRequest(svc.url, `/reco/popular/${1 + ((w * 7919 + i) % 2000)}`, { headers: AUTH });
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        requests++;
      }
    };
    const load = Promise.all(Array.from({ length: CONCURRENCY }, (_, w) => worker(w)));
    try {
      await waitFor(() => requests >= 300, 5 * 60_000, '300 requests before the kill');
      const pid = stackPid(stack, `es-${KILLED_NODE}`);
      assert.ok(pid !== undefined, 'pid file of the node to kill');
      process.kill(pid, 'SIGKILL');
      await waitFor(() => processGone(pid), 60_000, `es-${KILLED_NODE} (pid ${pid}) gone`);
      const health = await waitFor(
        async () => {
          const h = (await anyNode('/_cluster/health')) as Health;
          return h.number_of_nodes === 2 ? h : undefined;
        },
        5 * 60_000,
        'the cluster to notice the dead node',
      );
      nodesWhileDown = health.number_of_nodes;
      const atKill = requests;
      await waitFor(() => requests >= atKill + 300, 5 * 60_000, '300 requests while the node is down');
      // Started again on its kept data (start, not up): the other two keep running.
      await stackStart(['es'], stack.env);
      const atRestart = requests;
      await waitFor(() => requests >= atRestart + 300, 5 * 60_000, '300 requests after the restart');
    } finally {
      stop = true;
      await load;
    }
    // SIGTERM: the service drains and writes out every line before it exits.
    await service.stop();
    service = undefined;
    lines = readLogDir(stack.logDir);
    finalHealth = await esJson<Health>(`${urls[0]}/_cluster/health?wait_for_status=green&wait_for_nodes=3&timeout=300s`);
    let lastCount = -1;
    try {
      await waitFor(
        async () => {
          await esJson(`${urls[0]}/${INDEX}/_refresh`, { method: 'POST' });
          lastCount = (await esJson<{ count: number }>(`${urls[0]}/${INDEX}/_count`)).count;
          return lastCount >= lines.length;
        },
        10 * 60_000,
        `all ${lines.length} lines in ${INDEX}`,
        2_000,
      );
    } catch (error) {
      // Go on: the ids below say which lines are missing, and Filebeat's log why.
      const logs = join(stack.runDir, 'filebeat', 'logs');
      const why = existsSync(logs)
        ? readdirSync(logs).flatMap((f) => readFileSync(join(logs, f), 'utf8').split('\n').filter((l) => /WARN|Cannot index|mapper|rejected/.test(l))).slice(-10)
        : ['(no Filebeat log)'];
      shippingProblem = `${error instanceof Error ? error.message : String(error)} (last count ${lastCount})\nFilebeat warnings:\n${why.join('\n')}`;
    }
    // Every document id, page by page (the ids are the lines' event.id). Sorted by event.id, a
    // value of the document itself: `_doc` order belongs to one shard copy, and after the
    // restart the cluster may still move copies between nodes while the pages are read (a fixed
    // `preference` did not pin them: 9 633 distinct ids in 14 633 read), so pages in `_doc`
    // order repeated and skipped documents. In event.id order any copy gives the same pages.
    let after: unknown[] | undefined;
    for (;;) {
      const page = await esJson<{ hits: { hits: { _id: string; sort: unknown[] }[] } }>(`${urls[0]}/${INDEX}/_search`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ size: 5000, _source: false, sort: [{ 'event.id': 'asc' }], ...(after === undefined ? {} : { search_after: after }) }),
      });
      const hits = page.hits.hits;
      if (hits.length === 0) break;
      docIds.push(...hits.map((h) => h._id));
      after = hits[hits.length - 1]!.sort;
    }
    const settings = await esJson<Record<string, { settings: { index: typeof indexSettings } }>>(`${urls[0]}/${INDEX}/_settings`);
    indexSettings = settings[INDEX]?.settings.index ?? {};
  });

  after(async () => {
    await service?.stop();
    if (stack !== undefined) {
      await stackDown(['filebeat', 'es'], stack.env);
      assert.deepEqual(orphans(stack), [], 'nothing of the stack left running');
      removeStack(stack);
    }
  });

  it('serves through the outage: every request answered 200', () => {
    console.log(`es cluster: ${requests} requests, statuses ${JSON.stringify(Object.fromEntries(statuses))}; ${lines.length} log lines; ${docIds.length} documents`);
    assert.ok(requests >= 900);
    assert.deepEqual([...statuses.keys()], [200]);
  });

  it('the cluster ran on two nodes while one was dead, and is back to green with three', () => {
    assert.equal(nodesWhileDown, 2);
    assert.equal(finalHealth?.status, 'green');
    assert.equal(finalHealth?.number_of_nodes, 3);
    assert.equal(indexSettings.number_of_replicas, '1');
  });

  it('every line is in the index exactly once: 0 lost, 0 duplicated', () => {
    const access = accessRecords(lines);
    assert.ok(access.length >= requests, `an access line per request (${access.length} for ${requests})`);
    const lineIds = lines.map((l) => field(l, 'event.id'));
    assert.ok(lineIds.every((id) => typeof id === 'string'), 'every line has an event.id');
    assert.equal(new Set(lineIds).size, lineIds.length, 'event.id is unique per line');
    const docs = new Set(docIds);
    assert.equal(docs.size, docIds.length, 'no document id twice');
    const lost = lines.filter((l) => !docs.has(String(field(l, 'event.id'))));
    const described = lost.slice(0, 5).map((l) => `${String(field(l, '@timestamp'))} ${String(field(l, 'event.action'))} ${String(field(l, 'message')).slice(0, 120)}`);
    assert.deepEqual(described, [], `${lost.length} line(s) not in the index\n${shippingProblem}`);
    assert.equal(docIds.length, lineIds.length, 'as many documents as lines');
  });
});
