/**
 * npm run elk:setup [-- --wait 120] [--templates DIR]
 *
 * Installs the index templates from elk/index-templates and creates the reco-logs index.
 * Elasticsearch from ELASTICSEARCH_URL / ELASTICSEARCH_USERNAME / ELASTICSEARCH_PASSWORD.
 * --wait N: retry for up to N seconds until Elasticsearch answers (for a setup container
 * started alongside Elasticsearch).
 */
import { resolve } from 'node:path';
import { parseCommandLine, runCli, UsageError } from '../src/cli/usage';
import { PROJECT_ROOT } from '../src/paths';
import { createElasticsearchClient, describeElasticsearchError, elasticsearchSettings } from './client';
import { setupElk, waitForElasticsearch } from './setup';

const USAGE = 'usage: npm run elk:setup [-- --wait SECONDS] [--templates DIR]';

async function main(): Promise<number> {
  const { values } = parseCommandLine({
    args: process.argv.slice(2),
    options: {
      wait: { type: 'string', default: '0' },
      templates: { type: 'string', default: resolve(PROJECT_ROOT, 'elk', 'index-templates') },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) throw new UsageError('');
  const waitSeconds = Number(values.wait);
  if (!Number.isFinite(waitSeconds) || waitSeconds < 0) {
    throw new UsageError(`--wait must be a number of seconds, got "${values.wait}"`);
  }
  const settings = elasticsearchSettings();
  const client = createElasticsearchClient(settings);
  try {
    if (waitSeconds > 0) await waitForElasticsearch(client, waitSeconds * 1000);
    const result = await setupElk(client, values.templates);
    process.stdout.write(
      `elk:setup: ${settings.url}: index templates [${result.templates.join(', ')}] installed; ` +
        `index ${result.index} ${result.indexCreated ? 'created' : 'already exists (template changes apply to new indices only)'}\n`,
    );
    return 0;
  } catch (error) {
    process.stderr.write(`elk:setup: ${describeElasticsearchError(error, settings.url)}\n`);
    return 1;
  } finally {
    await client.close();
  }
}

runCli('elk:setup', USAGE, main);
