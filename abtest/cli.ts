/**
 * npm run ab:report -- --experiment NAME [--experiments FILE] [--control ARM]
 *                      [--since 1h | --from T --to T] [--index reco-logs]
 *                      [--prometheus URL] [--artifacts DIR]
 *                      [--logs FILE ...] [--markdown FILE] [--html FILE] [--json FILE]
 *
 * The per-arm online report of one experiment (see abtest/README.md): exact counts from
 * Elasticsearch (or from NDJSON log files with --logs), CTR with its Wilson interval, the z-test
 * against the control, the minimum detectable effect, and each arm's offline MAP@10/NDCG@10.
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createElasticsearchClient, describeElasticsearchError, elasticsearchSettings } from '../elk/client';
import { sinceToDateMath } from '../elk/log-search';
import { LOGS_INDEX } from '../src/contracts';
import { displayPath, parseCommandLine, runCli, UsageError } from '../src/cli/usage';
import { countsFromElasticsearch, type TimeRange } from './elasticsearch';
import { experimentWeights } from './experiments';
import { offlineLookup } from './offline';
import { armLatencyFromPrometheus } from './prometheus';
import type { ExperimentCounts, LogDocument } from './report';
import { buildReport, countsFromDocuments, renderHtml, renderMarkdown, renderTerminal } from './report';

const USAGE = `usage: npm run ab:report -- --experiment NAME [--experiments FILE] [--control ARM]
                            [--since 1h | --from T --to T] [--index ${LOGS_INDEX}]
                            [--prometheus URL] [--artifacts DIR]
                            [--logs FILE ...] [--markdown FILE] [--html FILE] [--json FILE]
  --experiment   the experiment (its access lines carry reco.experiment = NAME)
  --experiments  the service's experiments file (default: EXPERIMENTS_FILE): weights and the control
  --control      the control arm (default: "control", else the file's first arm, else the largest)
  --since/--from/--to  time range of the lines (default: all)
  --index        Elasticsearch index or pattern (default ${LOGS_INDEX}); ELASTICSEARCH_URL as for npm run logs
  --prometheus   latency p50/p99 per arm from this Prometheus (else Elasticsearch percentiles)
  --artifacts    the model registry for offline MAP@10/NDCG@10 (default: ARTIFACTS_DIR, else artifacts/)
  --logs         read these NDJSON log files instead of Elasticsearch
  --markdown, --html, --json  also write the report there`;

function readDocuments(files: string[]): LogDocument[] {
  return files.flatMap((file) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line.trim().length > 0)
      .map((line) => JSON.parse(line) as LogDocument),
  );
}

async function main(): Promise<number> {
  const { values } = parseCommandLine({
    args: process.argv.slice(2),
    options: {
      experiment: { type: 'string' },
      experiments: { type: 'string' },
      control: { type: 'string' },
      since: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      index: { type: 'string' },
      prometheus: { type: 'string' },
      artifacts: { type: 'string' },
      logs: { type: 'string', multiple: true },
      markdown: { type: 'string' },
      html: { type: 'string' },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help === true) throw new UsageError('');
  const experiment = values.experiment;
  if (experiment === undefined || experiment.length === 0) throw new UsageError('--experiment is required');
  if (values.since !== undefined && values.from !== undefined) throw new UsageError('use either --since or --from, not both');
  let range: TimeRange | undefined;
  try {
    if (values.since !== undefined) range = { from: sinceToDateMath(values.since) };
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.from !== undefined || values.to !== undefined) range = { from: values.from, to: values.to };
  const experimentsFile = values.experiments ?? (process.env.EXPERIMENTS_FILE?.trim() || undefined);
  const weights = experimentsFile === undefined ? undefined : experimentWeights(experimentsFile, experiment);

  let counts: ExperimentCounts;
  let source: string;
  if (values.logs !== undefined) {
    counts = countsFromDocuments(readDocuments(values.logs), experiment);
    source = `log files ${values.logs.map(displayPath).join(', ')}`;
  } else {
    const settings = elasticsearchSettings();
    const client = createElasticsearchClient(settings);
    const index = values.index ?? LOGS_INDEX;
    try {
      counts = await countsFromElasticsearch({ client, index, range }, experiment);
    } catch (error) {
      throw new Error(describeElasticsearchError(error, settings.url));
    } finally {
      await client.close();
    }
    source = `Elasticsearch ${settings.url} index ${index}${range === undefined ? '' : ` from ${range.from ?? '…'} to ${range.to ?? 'now'}`}`;
  }
  if (values.prometheus !== undefined) {
    const to = values.to !== undefined ? Date.parse(values.to) / 1000 : Date.now() / 1000;
    const from = values.from !== undefined ? Date.parse(values.from) / 1000 : values.since !== undefined ? to - sinceSeconds(values.since) : to - 3600;
    const latency = await armLatencyFromPrometheus(values.prometheus, from, to, counts.arms.map((a) => a.arm));
    for (const arm of counts.arms) {
      const l = latency.get(arm.arm);
      if (l !== undefined) arm.latencyMs = l;
      else delete arm.latencyMs;
    }
    counts.latencySource = `Prometheus ${values.prometheus} (histogram_quantile over the window)`;
  }
  const report = buildReport(counts, {
    control: values.control,
    weights,
    offline: await offlineLookup(values.artifacts ?? (process.env.ARTIFACTS_DIR?.trim() || 'artifacts')),
    source,
  });
  process.stdout.write(`${renderTerminal(report)}\n`);
  if (values.markdown !== undefined) await writeFile(values.markdown, renderMarkdown(report));
  if (values.html !== undefined) await writeFile(values.html, renderHtml(report));
  if (values.json !== undefined) await writeFile(values.json, `${JSON.stringify(report, null, 2)}\n`);
  return 0;
}

function sinceSeconds(since: string): number {
  const m = /^(\d+)(ms|s|m|h|d|w)$/.exec(since.trim());
  const unit: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };
  return m === null ? 3600 : Number(m[1]) * (unit[m[2] as string] ?? 1);
}

runCli('ab:report', USAGE, main);
