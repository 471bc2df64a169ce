/**
 * The docker-compose setup job (also runnable by hand against any stack):
 *
 *   node dist/elk/stack-setup-cli.js [--only elasticsearch|kibana] [--wait SECONDS]
 *   npm run stack:setup -- [same options]
 *
 * elasticsearch phase: wait for the cluster; with security on, set the kibana_system
 *   password and create the least-privilege roles/users for Filebeat and the collector
 *   (skipped, and said so, when security is off); apply the index templates and create the
 *   reco-logs index (`npm run elk:setup`'s module).
 * kibana phase: wait until Kibana reports itself available; import
 *   elk/kibana/saved-objects.ndjson (data view, saved searches, dashboard), overwriting.
 * Every step is idempotent: run it again after changing a password or the saved objects.
 *
 * Environment:
 *   ELASTICSEARCH_URL, ELASTICSEARCH_USERNAME (elastic), ELASTICSEARCH_PASSWORD
 *   KIBANA_URL (http://kibana:5601 in compose), KIBANA_USERNAME/PASSWORD (default: the ES ones)
 *   KIBANA_SYSTEM_PASSWORD, FILEBEAT_PASSWORD, OTEL_COLLECTOR_PASSWORD (with security on)
 *   JAEGER_UI_URL   where browsers reach Jaeger, for the trace.id link (http://localhost:16686)
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseCommandLine, runCli, UsageError } from '../src/cli/usage';
import { PROJECT_ROOT } from '../src/paths';
import { createElasticsearchClient, describeElasticsearchError, elasticsearchSettings } from './client';
import { importSavedObjects, kibanaSettings, waitForKibana } from './kibana/client';
import { DEFAULT_JAEGER_UI_URL } from './kibana/content';
import { renderSavedObjectsNdjson } from './kibana/objects';
import { passwordProblem, securityEnabled, setupSecurity, type StackPasswords } from './security';
import { setupElk, waitForElasticsearch } from './setup';

export const SAVED_OBJECTS_PATH = resolve(PROJECT_ROOT, 'elk', 'kibana', 'saved-objects.ndjson');

const PHASES = ['elasticsearch', 'kibana'] as const;
type Phase = (typeof PHASES)[number];

class SetupRefused extends Error {}

const say = (line: string): void => {
  process.stdout.write(`stack-setup: ${line}\n`);
};

/** The passwords the secured stack needs, or a refusal listing every problem at once. */
export function stackPasswords(env: NodeJS.ProcessEnv): StackPasswords {
  const problems = [
    passwordProblem('ELASTICSEARCH_PASSWORD (ELASTIC_PASSWORD in .env)', env.ELASTICSEARCH_PASSWORD),
    passwordProblem('KIBANA_SYSTEM_PASSWORD', env.KIBANA_SYSTEM_PASSWORD),
    passwordProblem('FILEBEAT_PASSWORD', env.FILEBEAT_PASSWORD),
    passwordProblem('OTEL_COLLECTOR_PASSWORD', env.OTEL_COLLECTOR_PASSWORD),
  ].filter((p): p is string => p !== undefined);
  if (problems.length > 0) throw new SetupRefused(`refusing to configure a secured stack:\n  - ${problems.join('\n  - ')}`);
  return {
    kibanaSystem: env.KIBANA_SYSTEM_PASSWORD as string,
    filebeat: env.FILEBEAT_PASSWORD as string,
    otelCollector: env.OTEL_COLLECTOR_PASSWORD as string,
  };
}

async function elasticsearchPhase(env: NodeJS.ProcessEnv, waitMs: number, templatesDir: string): Promise<void> {
  const settings = elasticsearchSettings(env);
  const client = createElasticsearchClient(settings);
  try {
    // A password given is checked before it is sent anywhere.
    if (settings.password !== undefined) {
      const problem = passwordProblem('ELASTICSEARCH_PASSWORD (ELASTIC_PASSWORD in .env)', settings.password);
      if (problem !== undefined) throw new SetupRefused(problem);
    }
    if (waitMs > 0) {
      say(`waiting up to ${Math.round(waitMs / 1000)} s for Elasticsearch at ${settings.url}`);
      await waitForElasticsearch(client, waitMs);
    }
    if (await securityEnabled(client)) {
      const passwords = stackPasswords(env);
      const result = await setupSecurity(client, passwords);
      say(
        `security on: password set for [${result.builtinPasswords.join(', ')}]; ` +
          `roles [${result.roles.join(', ')}]; users [${result.users.join(', ')}]`,
      );
    } else {
      say('security is off on this cluster: skipping built-in passwords, roles and users');
    }
    const result = await setupElk(client, templatesDir);
    say(
      `index templates [${result.templates.join(', ')}] installed; index ${result.index} ` +
        (result.indexCreated ? 'created' : 'already exists (template changes apply to new indices only)'),
    );
  } catch (error) {
    if (error instanceof SetupRefused) throw error;
    throw new Error(describeElasticsearchError(error, settings.url));
  } finally {
    await client.close();
  }
}

async function kibanaPhase(env: NodeJS.ProcessEnv, waitMs: number, savedObjectsPath: string): Promise<void> {
  const settings = kibanaSettings(env);
  const jaegerUiUrl = env.JAEGER_UI_URL?.trim() || DEFAULT_JAEGER_UI_URL;
  // The committed file is what gets imported; another Jaeger address regenerates it in memory.
  const ndjson = jaegerUiUrl === DEFAULT_JAEGER_UI_URL ? readFileSync(savedObjectsPath, 'utf8') : renderSavedObjectsNdjson({ jaegerUiUrl });
  say(`waiting up to ${Math.round(waitMs / 1000)} s for Kibana at ${settings.url}`);
  let lastReport = 0;
  await waitForKibana(settings, Math.max(waitMs, 1_000), (why) => {
    if (Date.now() - lastReport >= 15_000) {
      lastReport = Date.now();
      say(`Kibana not available yet (${why})`);
    }
  });
  const result = await importSavedObjects(settings, ndjson);
  say(`Kibana saved objects imported: ${result.successCount} (data view, saved searches, dashboard; overwrite=true)`);
}

const USAGE = 'usage: stack-setup [--only elasticsearch|kibana] [--wait SECONDS] [--templates DIR] [--saved-objects FILE]';

async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values } = parseCommandLine({
    args: argv,
    options: {
      only: { type: 'string' },
      wait: { type: 'string', default: '0' },
      templates: { type: 'string', default: resolve(PROJECT_ROOT, 'elk', 'index-templates') },
      'saved-objects': { type: 'string', default: SAVED_OBJECTS_PATH },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) throw new UsageError('');
  const only = values.only;
  if (only !== undefined && !(PHASES as readonly string[]).includes(only)) {
    throw new UsageError(`--only must be one of ${PHASES.join(', ')}, got "${only}"`);
  }
  const waitSeconds = Number(values.wait);
  if (!Number.isFinite(waitSeconds) || waitSeconds < 0) {
    throw new UsageError(`--wait must be a number of seconds, got "${values.wait}"`);
  }
  const phases: Phase[] = only === undefined ? [...PHASES] : [only as Phase];
  try {
    if (phases.includes('elasticsearch')) await elasticsearchPhase(env, waitSeconds * 1000, values.templates);
    if (phases.includes('kibana')) await kibanaPhase(env, waitSeconds * 1000, values['saved-objects']);
  } catch (error) {
    // Multi-line on purpose (the refusal lists every password problem): not runCli's one line.
    process.stderr.write(`stack-setup: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  say('done');
  return 0;
}

if (require.main === module) runCli('stack-setup', USAGE, () => main(process.argv.slice(2), process.env));
