/**
 * `docker compose up` for real: the project's docker-compose.yml, started by the Docker
 * Compose v2 binary against podman's Docker API (stack/compose.sh), with the stand-in images
 * of compose/standins.sh in place of the third-party ones (compose/standins.override.yml).
 *
 *   setup job completes → N requests through reco's published port → exactly N access lines in
 *   Elasticsearch via the Filebeat container (by event.id, none twice) → their trace ids in
 *   Jaeger via the collector container → Prometheus scrapes reco (up == 1) and counts N →
 *   the `load` profile runs to completion → the `mlflow` profile answers → `down -v` leaves no
 *   container, network or volume of the project.
 *
 * Each run gets a private STACK_RUN_DIR (podman socket, runroot, networks), a random project
 * name, fresh passwords and API key, and free host ports for every published port.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../../src/paths';
import { ACCESS_DATASET } from '../../src/contracts';
import { rawRequest } from '../helpers/http';
import { freePort, orphans, waitFor, type TestStack } from '../e2e/stack';

const execFileAsync = promisify(execFile);
const N = 40;
const MINUTE = 60_000;

interface Published {
  http: number;
  es: number;
  jaeger: number;
  prometheus: number;
  mlflow: number;
}

interface PsEntry {
  Service: string;
  State: string;
  Health?: string;
  ExitCode?: number;
}

describe('docker compose up (podman, stand-in images)', { timeout: 90 * MINUTE }, () => {
  // Made in before(): loading this file (e.g. a tool that imports every test) creates nothing.
  let runDir = '';
  const project = `recoscope-ci-${randomBytes(3).toString('hex')}`;
  const apiKey = `compose-${randomUUID()}`;
  const agent = `recoscope-compose/${project}`;
  let envFile = '';
  let ports: Published;
  let env: Record<string, string>;
  let composeUp = false;
  const traceIds: string[] = [];
  const timings: Record<string, number> = {};

  const run = async (file: string, args: string[], timeoutMs: number): Promise<string> => {
    try {
      const { stdout } = await execFileAsync(file, args, {
        cwd: PROJECT_ROOT,
        env: { ...process.env, ...env },
        timeout: timeoutMs,
        maxBuffer: 64 * 1024 * 1024,
      });
      return stdout;
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string; message: string };
      throw new Error(`${file} ${args.join(' ')} failed: ${e.message}\n${(e.stderr ?? '').slice(-4000)}`);
    }
  };
  const timed = async <T>(label: string, work: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    try {
      return await work();
    } finally {
      timings[label] = Math.round((Date.now() - t0) / 1000);
    }
  };
  const stack = (args: string[], timeoutMs = 60 * MINUTE) => run('bash', [join(PROJECT_ROOT, 'stack', 'stack.sh'), ...args], timeoutMs);
  const compose = (args: string[], timeoutMs = 30 * MINUTE) => run('bash', [join(PROJECT_ROOT, 'compose', 'compose.sh'), ...args], timeoutMs);
  // The podman of stack/compose.sh: its own containers.conf and storage (run dir, cache).
  const podman = (args: string[]) =>
    run('env', [`CONTAINERS_CONF=${join(runDir, 'compose', 'containers.conf')}`, `CONTAINERS_STORAGE_CONF=${join(runDir, 'compose', 'storage.conf')}`, 'podman', ...args], 2 * MINUTE);
  const ps = async (...extra: string[]): Promise<PsEntry[]> => {
    // Both profiles: `ps load` / `ps mlflow` name services that are only known with them.
    const out = (await compose(['--profile', 'load', '--profile', 'mlflow', 'ps', '-a', '--format', 'json', ...extra], 2 * MINUTE)).trim();
    if (out === '') return [];
    // One JSON object per line (compose v2's `ps --format json`).
    return out.split('\n').map((line) => JSON.parse(line) as PsEntry);
  };
  const getJson = async <T>(url: string): Promise<T> => {
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };

  before(async () => {
    runDir = mkdtempSync(join(tmpdir(), 'recoscope-composeup-'));
    envFile = join(runDir, 'run.env');
    ports = {
      http: await freePort(),
      es: await freePort(),
      jaeger: await freePort(),
      prometheus: await freePort(),
      mlflow: await freePort(),
    };
    const secret = (): string => randomBytes(12).toString('hex');
    writeFileSync(
      envFile,
      [
        `ELASTIC_PASSWORD=${secret()}`,
        `KIBANA_SYSTEM_PASSWORD=${secret()}`,
        `FILEBEAT_PASSWORD=${secret()}`,
        `OTEL_COLLECTOR_PASSWORD=${secret()}`,
        `GRAFANA_ADMIN_PASSWORD=${secret()}`,
        `API_KEY=${apiKey}`,
        // The run shares 2 cores with other work: a small Elasticsearch.
        'ES_HEAP=512m',
        `RECO_HTTP_PORT=${ports.http}`,
        `RECO_ES_PORT=${ports.es}`,
        `RECO_JAEGER_PORT=${ports.jaeger}`,
        `RECO_PROMETHEUS_PORT=${ports.prometheus}`,
        `RECO_MLFLOW_PORT=${ports.mlflow}`,
        `RECO_OTLP_GRPC_PORT=${await freePort()}`,
        `RECO_OTLP_HTTP_PORT=${await freePort()}`,
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    chmodSync(runDir, 0o755);
    env = { STACK_RUN_DIR: runDir, COMPOSE_RUN_ENV: envFile, COMPOSE_PROJECT_NAME: project };
    await timed('install', () => stack(['install', 'compose', 'es', 'filebeat', 'otelcol', 'jaeger']));
    await timed('engine', () => stack(['up', 'compose']));
    await timed('standins', () => run('bash', [join(PROJECT_ROOT, 'compose', 'standins.sh'), 'build'], 60 * MINUTE));
    console.log(`# versions: ${(await stack(['versions', 'compose'])).trim()}`);
    console.log(`# docker CLI: ${(await run('docker', ['--version'], MINUTE).catch(() => 'none')).trim()}`);
    for (const line of (await run('bash', [join(PROJECT_ROOT, 'compose', 'standins.sh'), 'versions'], 5 * MINUTE)).trim().split('\n')) {
      console.log(`# stand-in: ${line}`);
    }
  });

  after(async () => {
    if (runDir === '') return;
    try {
      if (composeUp) await compose(['--profile', 'load', '--profile', 'mlflow', 'down', '-v', '--remove-orphans'], 10 * MINUTE);
    } finally {
      await stack(['down', 'compose']);
      console.log(`# cost (s): ${JSON.stringify(timings)}`);
      // podman's service, conmon and the healthcheck driver all run with paths in the run dir.
      const left = orphans({ runDir } as TestStack);
      rmSync(runDir, { recursive: true, force: true });
      assert.deepEqual(left, [], 'processes left behind');
    }
  });

  it('builds both targets of the Dockerfile and starts the stack; the setup job completes', async () => {
    await timed('compose build', () => compose(['--profile', 'load', 'build']));
    composeUp = true;
    // `up -d` returns once every service is started, after each depends_on gate opened
    // (service_healthy: the healthcheck driver; service_completed_successfully: setup).
    await timed('compose up', () => compose(['up', '-d']));
    const entries = await ps();
    const byService = new Map(entries.map((e) => [e.Service, e]));
    const setup = byService.get('setup');
    assert.equal(setup?.State, 'exited', JSON.stringify(setup));
    assert.equal(setup?.ExitCode, 0, await compose(['logs', 'setup']));
    assert.match((await compose(['logs', 'setup'])), /reco-logs/);
    for (const service of ['elasticsearch', 'filebeat', 'jaeger', 'otel-collector', 'reco', 'prometheus']) {
      assert.equal(byService.get(service)?.State, 'running', `${service}: ${JSON.stringify(byService.get(service))}`);
    }
    for (const service of ['elasticsearch', 'filebeat']) {
      assert.equal(byService.get(service)?.Health, 'healthy', `${service}: ${JSON.stringify(byService.get(service))}`);
    }
    // Kibana, its setup job and Grafana are not obtainable here: never started.
    for (const service of ['kibana', 'kibana-setup', 'grafana']) assert.equal(byService.has(service), false, service);
    await waitFor(async () => (await ps('reco'))[0]?.Health === 'healthy', 5 * MINUTE, 'reco healthy');
    console.log(`# docker compose ps:\n${(await compose(['ps'])).trimEnd().replace(/^/gm, '#   ')}`);
    // The service runs as uid 1000 (the image's `node` user) and writes into the shared volume.
    assert.equal((await compose(['exec', '-T', 'reco', 'id', '-u'])).trim(), '1000');
  });

  it(`${N} requests through the published port: exactly ${N} access lines in Elasticsearch, by event.id`, async () => {
    const base = `http://127.0.0.1:${ports.http}`;
    for (let i = 0; i < N; i++) {
      const model = i % 2 === 0 ? 'popular' : 'knn';
      const res = await rawRequest(base, `/reco/${model}/${i + 1}`, { headers: { authorization: `Bearer ${apiKey}`, 'user-agent': agent } });
      assert.equal(res.status, 200, res.body);
      traceIds.push(String(res.headers['x-trace-id']));
    }
    const es = `http://127.0.0.1:${ports.es}`;
    const query = { bool: { filter: [{ term: { 'event.dataset': ACCESS_DATASET } }, { term: { 'user_agent.original': agent } }] } };
    interface Hit {
      _id: string;
      _source: Record<string, unknown>;
    }
    const search = async (): Promise<Hit[]> => {
      await fetch(`${es}/reco-logs/_refresh`, { method: 'POST' });
      const res = await fetch(`${es}/reco-logs/_search`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query, size: 10 * N, _source: ['event', 'trace', 'message', 'url', 'http'] }),
      });
      if (!res.ok) throw new Error(`search: HTTP ${res.status} ${await res.text()}`);
      return ((await res.json()) as { hits: { hits: Hit[] } }).hits.hits;
    };
    // Stop waiting as soon as N arrived; then look once more for late duplicates.
    await waitFor(async () => (await search()).length >= N, 3 * MINUTE, `${N} access lines in Elasticsearch`, 1000);
    const hits = await search();
    const eventIds = hits.map((h) => {
      const event = h._source.event as Record<string, unknown> | undefined;
      return String(event?.id);
    });
    const docTraceIds = hits.map((h) => String((h._source.trace as Record<string, unknown> | undefined)?.id));
    const duplicated = eventIds.length - new Set(eventIds).size;
    const missing = traceIds.filter((id) => !docTraceIds.includes(id)).length;
    console.log(`# requests ${N}, ES access documents ${hits.length}, missing ${missing}, duplicated ${duplicated}`);
    console.log(`# a log line found in ES: ${JSON.stringify(hits[0]?._source)}`);
    assert.equal(hits.length, N);
    assert.equal(duplicated, 0);
    assert.equal(missing, 0);
    // event.id is the document _id (Filebeat's document_id): a resend cannot duplicate.
    assert.deepEqual(
      hits.map((h) => h._id),
      eventIds,
    );
  });

  it("every line of the service's log files is in Elasticsearch; Filebeat dropped nothing", async () => {
    const es = `http://127.0.0.1:${ports.es}`;
    // Read inside the container: the files in the named volume, as Filebeat sees them.
    const text = await compose(['exec', '-T', 'reco', 'sh', '-c', 'cat /var/log/recoscope/*.ndjson']);
    const fileIds = text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => String((JSON.parse(line) as { event?: { id?: string } }).event?.id));
    const inEs = async (): Promise<Set<string>> => {
      await fetch(`${es}/reco-logs/_refresh`, { method: 'POST' });
      const res = await fetch(`${es}/reco-logs/_search`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: { terms: { 'event.id': fileIds } }, size: fileIds.length + 10, _source: ['event.id'] }),
      });
      const hits = ((await res.json()) as { hits: { hits: { _source: { event?: { id?: string } } }[] } }).hits.hits;
      return new Set(hits.map((h) => String(h._source.event?.id)));
    };
    const found = await waitFor(
      async () => {
        const ids = await inEs();
        return fileIds.every((id) => ids.has(id)) ? ids : undefined;
      },
      2 * MINUTE,
      `all ${fileIds.length} log lines in Elasticsearch`,
      1000,
    ).catch(async (error: unknown) => {
      const ids = await inEs();
      const lost = text.split('\n').filter((line) => line !== '' && !ids.has(String((JSON.parse(line) as { event?: { id?: string } }).event?.id)));
      throw new Error(`${String(error)}\nnot in Elasticsearch:\n${lost.join('\n').slice(0, 4000)}`);
    });
    console.log(`# service log lines ${fileIds.length}, in Elasticsearch ${found.size}, missing ${fileIds.filter((id) => !found.has(id)).length}`);
    const filebeatLog = await compose(['logs', 'filebeat']);
    assert.doesNotMatch(filebeatLog, /Cannot index event/);
  });

  it('every request trace is in Jaeger, through the collector container', async () => {
    const jaeger = `http://127.0.0.1:${ports.jaeger}`;
    const found = new Set<string>();
    await waitFor(
      async () => {
        for (const id of traceIds) {
          if (found.has(id)) continue;
          const res = await fetch(`${jaeger}/api/traces/${id}`, { signal: AbortSignal.timeout(10_000) });
          if (!res.ok) continue;
          const body = (await res.json()) as { data?: { traceID: string; spans: unknown[] }[] };
          if ((body.data?.[0]?.spans.length ?? 0) > 0) found.add(id);
        }
        return found.size === traceIds.length;
      },
      3 * MINUTE,
      `${traceIds.length} traces in Jaeger`,
      2000,
    );
    const services = await getJson<{ data: string[] }>(`${jaeger}/api/services`);
    console.log(`# Jaeger traces ${found.size} of ${traceIds.length} (missing ${traceIds.length - found.size}); services ${services.data.join(', ')}`);
    assert.equal(found.size, N);
    assert.ok(services.data.includes('recoscope'), services.data.join(','));
  });

  it('Prometheus scrapes reco (up == 1) and counts exactly the requests sent', async () => {
    const prom = `http://127.0.0.1:${ports.prometheus}`;
    type Result = { metric: Record<string, string>; value: [number, string] }[];
    const query = async (q: string): Promise<Result> =>
      (await getJson<{ data: { result: Result } }>(`${prom}/api/v1/query?query=${encodeURIComponent(q)}`)).data.result;
    await waitFor(async () => Number((await query('up{job="recoscope"}'))[0]?.value[1]) === 1, 2 * MINUTE, 'up{job="recoscope"} == 1');
    // Only /reco requests count recommendations; the healthchecks do not.
    const total = await waitFor(
      async () => {
        const v = Number((await query('sum(recoscope_recommendations_total{job="recoscope"})'))[0]?.value[1]);
        return v === N ? v : undefined;
      },
      2 * MINUTE,
      `${N} recommendations in Prometheus`,
      1000,
    );
    const series = await query('recoscope_recommendations_total{job="recoscope"}');
    const perModel: Record<string, number> = {};
    for (const s of await query('sum by (model) (recoscope_recommendations_total{job="recoscope"})')) perModel[s.metric.model ?? ''] = Number(s.value[1]);
    console.log(`# Prometheus: target up, recommendations ${total}, series ${series.length}, per model ${JSON.stringify(perModel)}`);
    assert.deepEqual(perModel, { popular: N / 2, knn: N / 2 });
  });

  it('the load profile runs to completion', async () => {
    const out = await timed('load profile', () => compose(['--profile', 'load', 'up', 'load'], 15 * MINUTE));
    const load = (await ps('load'))[0];
    assert.equal(load?.State, 'exited', JSON.stringify(load));
    assert.equal(load?.ExitCode, 0, out.slice(-3000));
    const summary = out.split('\n').filter((l) => /requests|errors|non-2xx|req\/s/i.test(l)).slice(-6);
    console.log(`# load profile:\n${summary.join('\n').replace(/^/gm, '#   ')}`);
  });

  it('the mlflow profile answers', async () => {
    await timed('mlflow profile', () => compose(['--profile', 'mlflow', 'up', '-d', 'mlflow'], 10 * MINUTE));
    const mlflow = `http://127.0.0.1:${ports.mlflow}`;
    await waitFor(async () => (await ps('mlflow'))[0]?.Health === 'healthy', 5 * MINUTE, 'mlflow healthy', 1000);
    // MLflow checks the Host header against --allowed-hosts (compose lists localhost:5000, the
    // default published port); this run publishes another port, so say the default one.
    const res = await rawRequest(mlflow, '/api/2.0/mlflow/experiments/get-by-name?experiment_name=Default', {
      headers: { host: 'localhost:5000' },
    });
    assert.equal(res.status, 200, res.body);
    const experiment = (res.json() as { experiment?: { name?: string; experiment_id?: string } }).experiment;
    console.log(`# mlflow: experiment ${experiment?.name} (id ${experiment?.experiment_id})`);
    assert.equal(experiment?.name, 'Default', res.body);
    // Any other Host is refused, as MLflow 3 is configured to.
    assert.equal((await rawRequest(mlflow, '/api/2.0/mlflow/experiments/get-by-name?experiment_name=Default')).status, 403);
  });

  it('down -v leaves no container, network or volume of the project', async () => {
    const label = `label=com.docker.compose.project=${project}`;
    const listed = async (): Promise<{ containers: string; networks: string; volumes: string }> => ({
      containers: (await podman(['ps', '-a', '--filter', label, '--format', '{{.Names}}'])).trim(),
      networks: (await podman(['network', 'ls', '--filter', label, '--format', '{{.Name}}'])).trim(),
      volumes: (await podman(['volume', 'ls', '--filter', label, '--format', '{{.Name}}'])).trim(),
    });
    // The same listing sees the project while it is up (so an empty one after means gone).
    const before = await listed();
    assert.ok(before.containers.includes(`${project}-reco-1`), JSON.stringify(before));
    assert.ok(before.networks !== '' && before.volumes.includes(`${project}_reco-logs`), JSON.stringify(before));
    await timed('compose down', () => compose(['--profile', 'load', '--profile', 'mlflow', 'down', '-v', '--remove-orphans'], 10 * MINUTE));
    composeUp = false;
    const left = await listed();
    console.log(`# after down -v: ${JSON.stringify(left)} (before: ${JSON.stringify(before)})`);
    assert.deepEqual(left, { containers: '', networks: '', volumes: '' });
  });
});
