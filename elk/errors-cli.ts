/**
 * npm run errors -- [--since 1h] [--level error|warn] [--size N] [--model-version V] [--json] [--index NAME]
 *
 * The service's error groups from Elasticsearch (ELASTICSEARCH_URL, default
 * http://127.0.0.1:9200), biggest first: key, level, count, users affected, first and last
 * seen, the split by model version, one sample trace id and message. See elk/error-groups.ts.
 */
import { parseCommandLine, runCli, UsageError } from '../src/cli/usage';
import { createElasticsearchClient, describeElasticsearchError, elasticsearchSettings, LOGS_INDEX } from './client';
import { formatErrorGroups, searchErrorGroups, type ErrorGroupsOptions } from './error-groups';
import { sinceToDateMath } from './log-search';

const USAGE = `usage: npm run errors -- [options]

Failed requests grouped by error.grouping_key (5xx: error type + top frame in our code;
4xx: status + error key + route), biggest group first.

options:
  --since DUR      only lines newer than DUR ago (30s, 15m, 1h, 7d); default: all
  --level L        error (5xx) or warn (4xx); default: both
  --size N         at most N groups (default 20)
  --model-version V  only failures served by model version V (npm run models -- list);
                   every row splits its count by reco.model_version either way
  --json           one JSON object per group instead of a table
  --index NAME     index or pattern (default ${LOGS_INDEX}*)
environment: ELASTICSEARCH_URL, ELASTICSEARCH_USERNAME, ELASTICSEARCH_PASSWORD
`;

async function main(): Promise<number> {
  const { values } = parseCommandLine({
    args: process.argv.slice(2),
    options: {
      since: { type: 'string' },
      level: { type: 'string' },
      size: { type: 'string', default: '20' },
      'model-version': { type: 'string' },
      json: { type: 'boolean', default: false },
      index: { type: 'string', default: `${LOGS_INDEX}*` },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const size = Number(values.size);
  if (!Number.isInteger(size) || size < 1 || size > 1000) throw new UsageError(`--size must be an integer between 1 and 1000, got "${values.size}"`);
  if (values.level !== undefined && values.level !== 'error' && values.level !== 'warn') {
    throw new UsageError(`--level must be error or warn, got "${values.level}"`);
  }
  if (values.since !== undefined) {
    try {
      sinceToDateMath(values.since);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }
  const options: ErrorGroupsOptions = { size, index: values.index };
  if (values.since !== undefined) options.since = values.since;
  if (values.level !== undefined) options.level = values.level;
  if (values['model-version'] !== undefined) options.modelVersion = values['model-version'];

  const settings = elasticsearchSettings();
  const client = createElasticsearchClient(settings, { maxRetries: 0, requestTimeoutMs: 15_000 });
  try {
    const result = await searchErrorGroups(client, options);
    if (values.json) {
      for (const group of result.groups) process.stdout.write(`${JSON.stringify(group)}\n`);
    } else {
      process.stdout.write(`${formatErrorGroups(result)}\n`);
      process.stderr.write(`${result.groups.length} group(s), ${result.total} failed request(s)${values.since !== undefined ? ` in the last ${values.since}` : ''}\n`);
    }
    return 0;
  } catch (error) {
    throw new Error(describeElasticsearchError(error, settings.url));
  } finally {
    await client.close();
  }
}

runCli('errors', USAGE, main);
