/**
 * npm run logs -- [QUERY] [--since 15m | --from T --to T] [--trace ID] [--fields a,b,c]
 *                 [--size N] [--json] [--index NAME]
 *
 * Searches the service's logs in Elasticsearch (ELASTICSEARCH_URL, default
 * http://127.0.0.1:9200) and prints an aligned table, oldest line first.
 */
import { parseCommandLine, runCli, UsageError } from '../src/cli/usage';
import { createElasticsearchClient, describeElasticsearchError, elasticsearchSettings, LOGS_INDEX } from './client';
import { columnsFor, formatLogTable, searchLogs, type LogSearchOptions } from './log-search';

const USAGE = `usage: npm run logs -- [QUERY] [options]

QUERY is Elasticsearch query_string syntax; lower-case and/or/not and "field > n" work too:
  npm run logs -- 'reco.model:knn and event.duration > 5000000' --since 1h
  npm run logs -- 'http.response.status_code >= 400' --fields @timestamp,url.path,reco.error_key
  npm run logs -- --trace 4bf92f3577b34da6a3ce929d0e0e4736

options:
  --since DUR        only lines newer than DUR ago (30s, 15m, 2h, 7d)
  --from T, --to T   absolute bounds (ISO time or date math such as now-1h)
  --trace ID         every line of one trace, in order
  --fields a,b,c     columns to print (dotted ECS paths) instead of the default set
  --size N           number of lines (default 50, newest N)
  --json             one JSON document per line instead of a table
  --index NAME       index or pattern (default ${LOGS_INDEX})
environment: ELASTICSEARCH_URL, ELASTICSEARCH_USERNAME, ELASTICSEARCH_PASSWORD
`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args: argv,
    allowPositionals: true,
    options: {
      since: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      trace: { type: 'string' },
      fields: { type: 'string' },
      size: { type: 'string', default: '50' },
      json: { type: 'boolean', default: false },
      index: { type: 'string', default: LOGS_INDEX },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) throw new UsageError('');
  const size = Number(values.size);
  if (!Number.isInteger(size) || size < 0 || size > 10_000) {
    throw new UsageError(`--size must be an integer between 0 and 10000, got "${values.size}"`);
  }
  if (values.since !== undefined && values.from !== undefined) throw new UsageError('use either --since or --from, not both');
  const options: LogSearchOptions = {
    query: positionals.join(' '),
    since: values.since,
    from: values.from,
    to: values.to,
    traceId: values.trace,
    size,
    index: values.index,
  };
  const settings = elasticsearchSettings();
  const client = createElasticsearchClient(settings, { maxRetries: 0, requestTimeoutMs: 15_000 });
  try {
    const result = await searchLogs(client, options);
    if (values.json) {
      for (const hit of result.hits) process.stdout.write(`${JSON.stringify(hit.source)}\n`);
    } else {
      const fields = values.fields?.split(',').map((f) => f.trim()).filter((f) => f.length > 0);
      process.stdout.write(`${formatLogTable(result.hits, columnsFor(fields))}\n`);
      process.stderr.write(`${result.hits.length} of ${result.total} matching lines\n`);
    }
    return 0;
  } catch (error) {
    process.stderr.write(`logs: ${describeElasticsearchError(error, settings.url)}\n`);
    return 1;
  } finally {
    await client.close();
  }
}

runCli('logs', USAGE, () => main(process.argv.slice(2)));
