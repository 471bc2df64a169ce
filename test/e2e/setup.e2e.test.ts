/**
 * The docker-compose setup job (elk/stack-setup-cli.ts, compiled) against a real
 * Elasticsearch: the local node of stack/stack.sh, which runs with security OFF. So this
 * covers the job's Elasticsearch phase as it runs there — the security step detects that
 * security is off and skips passwords/roles/users (asserted), the index templates and the
 * reco-logs index are installed, a second run converges — and checks the Kibana saved
 * objects against the mapping Elasticsearch actually built from the template (field types
 * and aggregatability for every Lens column).
 *
 * Not covered here (no Docker, no Kibana on this machine): passwords/roles/users on a secured
 * cluster, and the import into a real Kibana (its request shape is checked in
 * test/unit/compose.test.ts).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { createElasticsearchClient, LOGS_INDEX } from '../../elk/client';
import { kibanaSavedObjects } from '../../elk/kibana/objects';
import { referencedFields } from '../../elk/kibana/references';
import { experimentsSavedObjects } from '../../elk/kibana/experiments';
import { EXPERIMENTS_INDEX } from '../../src/contracts';
import { securityEnabled } from '../../elk/security';
import { PROJECT_ROOT, compiled } from '../../src/paths';
import { createStack, freePort, orphans, removeStack, stackDown, stackUp, type TestStack } from './stack';

const execFileAsync = promisify(execFile);
const CLI = compiled('elk/stack-setup-cli');

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the compiled setup CLI with only the given environment (plus PATH). */
async function runSetup(args: string[], env: Record<string, string>): Promise<CliRun> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [CLI, ...args], {
      cwd: PROJECT_ROOT,
      env: { PATH: process.env.PATH ?? '', ...env },
      timeout: 180_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('stack-setup against the real local Elasticsearch (security off)', () => {
  let stack: TestStack;

  before(async () => {
    stack = await createStack('setup');
    await stackUp(['es'], stack.env);
  });

  after(async () => {
    if (stack === undefined) return;
    await stackDown(['es'], stack.env);
    assert.deepEqual(orphans(stack), []);
    removeStack(stack);
  });

  it('sees that security is off', async () => {
    const client = createElasticsearchClient({ url: stack.esUrl });
    try {
      assert.equal(await securityEnabled(client), false);
    } finally {
      await client.close();
    }
  });

  it('skips passwords/roles/users (saying so), installs the templates and creates reco-logs', async () => {
    // No passwords at all in the environment: with security off none is needed.
    const run = await runSetup(['--only', 'elasticsearch', '--wait', '60'], { ELASTICSEARCH_URL: stack.esUrl });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /security is off on this cluster: skipping built-in passwords, roles and users/);
    assert.match(run.stdout, /index templates \[reco-experiments, reco-logs\] installed; index reco-logs created/);
    assert.match(run.stdout, /stack-setup: done/);

    const template = await fetch(`${stack.esUrl}/_index_template/reco-logs`);
    assert.equal(template.status, 200);
    const mapping = (await (await fetch(`${stack.esUrl}/${LOGS_INDEX}/_mapping`)).json()) as Record<
      string,
      { mappings: { properties: Record<string, { properties?: Record<string, { type?: string }> }> } }
    >;
    const props = mapping[LOGS_INDEX]?.mappings.properties;
    assert.equal(props?.event?.properties?.duration?.type, 'long');
    assert.equal(props?.reco?.properties?.cold_start?.type, 'boolean');
  });

  it('converges when run again (idempotent)', async () => {
    const run = await runSetup(['--only', 'elasticsearch'], { ELASTICSEARCH_URL: stack.esUrl });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /index reco-logs already exists/);
  });

  it('refuses a default password before talking to Elasticsearch', async () => {
    const run = await runSetup(['--only', 'elasticsearch'], {
      ELASTICSEARCH_URL: stack.esUrl,
      ELASTICSEARCH_USERNAME: 'elastic',
      ELASTICSEARCH_PASSWORD: 'changeme',
    });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /ELASTICSEARCH_PASSWORD \(ELASTIC_PASSWORD in \.env\) is a default password \("changeme"\)/);
  });

  it('gives up on an absent Kibana with a clear message', async () => {
    const run = await runSetup(['--only', 'kibana', '--wait', '3'], { KIBANA_URL: `http://127.0.0.1:${await freePort()}` });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /Kibana at http:\/\/127\.0\.0\.1:\d+ not available after 3 s/);
  });

  it("every field the saved objects use exists in Elasticsearch's reco-logs mapping, with a type fit for its use", async () => {
    const res = await fetch(`${stack.esUrl}/${LOGS_INDEX}/_field_caps?fields=*`);
    assert.equal(res.status, 200);
    const caps = ((await res.json()) as { fields: Record<string, Record<string, { type: string; aggregatable: boolean; searchable: boolean }>> })
      .fields;
    const cap = (field: string) => Object.values(caps[field] ?? {})[0];

    // The model-quality objects read reco-experiments: checked against that mapping below.
    const experiments = new Set(experimentsSavedObjects().map((o) => o.id));
    const objects = kibanaSavedObjects().filter((o) => !experiments.has(o.id));
    const missing = referencedFields(objects)
      .filter((u) => cap(u.field) === undefined)
      .map((u) => `${u.field} (${u.where})`);
    assert.deepEqual(missing, []);

    // Lens columns: terms/filters need aggregatable fields, percentiles numeric ones, the
    // histogram a date; saved-search sort fields must be sortable (aggregatable).
    const numeric = new Set(['long', 'integer', 'short', 'byte', 'double', 'float', 'scaled_float', 'half_float']);
    const dashboard = objects.find((o) => o.type === 'dashboard');
    assert.ok(dashboard);
    const panels = JSON.parse(dashboard.attributes.panelsJSON as string) as {
      panelIndex: string;
      embeddableConfig: {
        attributes?: {
          state: { datasourceStates: { formBased: { layers: Record<string, { columns: Record<string, { operationType: string; sourceField?: string }> }> } } };
        };
      };
    }[];
    for (const panel of panels) {
      for (const layer of Object.values(panel.embeddableConfig.attributes?.state.datasourceStates.formBased.layers ?? {})) {
        for (const [id, column] of Object.entries(layer.columns)) {
          if (column.sourceField === undefined || column.sourceField === '___records___') continue;
          const c = cap(column.sourceField);
          const where = `${panel.panelIndex}/${id} ${column.operationType}(${column.sourceField})`;
          assert.ok(c?.aggregatable, `${where}: not aggregatable`);
          if (column.operationType === 'percentile') assert.ok(numeric.has(c.type), `${where}: ${c.type} is not numeric`);
          if (column.operationType === 'date_histogram') assert.equal(c.type, 'date', where);
        }
      }
    }
    for (const search of objects.filter((o) => o.type === 'search')) {
      for (const [field] of search.attributes.sort as [string, string][]) {
        assert.ok(cap(field)?.aggregatable, `${search.id}: cannot sort on ${field}`);
      }
    }
  });

  it("every field the model-quality objects use exists in the reco-experiments mapping, aggregatable where charted", async () => {
    // The index from the template stack-setup installed (npm run evaluate creates it on first write).
    const created = await fetch(`${stack.esUrl}/${EXPERIMENTS_INDEX}`, { method: 'PUT' });
    assert.equal(created.status, 200, await created.text());
    const res = await fetch(`${stack.esUrl}/${EXPERIMENTS_INDEX}/_field_caps?fields=*`);
    assert.equal(res.status, 200);
    const caps = ((await res.json()) as { fields: Record<string, Record<string, { type: string; aggregatable: boolean }>> }).fields;
    const cap = (field: string) => Object.values(caps[field] ?? {})[0];
    const objects = experimentsSavedObjects();
    assert.deepEqual(
      referencedFields(objects)
        .filter((u) => cap(u.field) === undefined)
        .map((u) => `${u.field} (${u.where})`),
      [],
    );
    const numeric = new Set(['long', 'integer', 'double', 'float']);
    const dashboard = objects.find((o) => o.type === 'dashboard');
    assert.ok(dashboard);
    const panels = JSON.parse(dashboard.attributes.panelsJSON as string) as {
      panelIndex: string;
      embeddableConfig: { attributes?: { state: { datasourceStates: { formBased: { layers: Record<string, { columns: Record<string, { operationType: string; sourceField?: string }> }> } } } } };
    }[];
    let charted = 0;
    for (const panel of panels) {
      for (const layer of Object.values(panel.embeddableConfig.attributes?.state.datasourceStates.formBased.layers ?? {})) {
        for (const [id, column] of Object.entries(layer.columns)) {
          if (column.sourceField === undefined) continue;
          const c = cap(column.sourceField);
          const where = `${panel.panelIndex}/${id} ${column.operationType}(${column.sourceField})`;
          assert.ok(c?.aggregatable, `${where}: not aggregatable`);
          if (column.operationType === 'average') assert.ok(numeric.has(c.type), `${where}: ${c.type} is not numeric`);
          charted++;
        }
      }
    }
    assert.ok(charted >= 8);
    for (const search of objects.filter((o) => o.type === 'search')) {
      for (const [field] of search.attributes.sort as [string, string][]) assert.ok(cap(field)?.aggregatable, `${search.id}: cannot sort on ${field}`);
    }
  });
});
