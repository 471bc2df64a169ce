/**
 * npm run simulate -- prepare [--dataset <csv|synthetic>] [--test-days 7 | --test-fraction f] --out train.csv
 * npm run simulate -- run --experiment NAME [--dataset …] [--test-days 7 | --test-fraction f]
 *                         [--url URL] [--key KEY] [--seed 42] [--users N] [--concurrency 8] [--views] [--out FILE]
 *
 * The online simulator (loadtest/simulate.ts). `prepare` writes the train part for the service
 * (start it with DATASET=train.csv); `run` replays the test users against it.
 */
import { writeFile } from 'node:fs/promises';
import { configWithDataset } from '../src/cli/dataset-options';
import { displayPath, parseCommandLine, runCli, UsageError } from '../src/cli/usage';
import { loadDataset } from '../src/data/datasets';
import { describeSplit, splitSpecOption, temporalSplit } from '../evaluation/split';
import { simulate, simulatedUsers, writeTrainCsv } from './simulate';

const USAGE = `usage: npm run simulate -- prepare [--dataset <csv|synthetic>] [--test-days 7 | --test-fraction f] --out train.csv
       npm run simulate -- run --experiment NAME [--dataset …] [--test-days 7 | --test-fraction f]
                               [--url URL] [--key KEY] [--seed 42] [--users N] [--concurrency 8] [--views] [--out FILE]
  prepare        write the split's train part as a CSV for the service (DATASET=<file>)
  run            each test user asks /reco/<experiment>/<user> once and clicks the items in its future
  --dataset      a MovieLens or Kion CSV, or synthetic (default: DATASET), split as npm run evaluate splits it
  --experiment   the experiment (or model) name of the route
  --url          the service (default LOAD_URL, else http://127.0.0.1:8080); --key (default API_KEY)
  --seed         order of the users (default 42); --users: at most N of them
  --concurrency  requests in flight (default 8); --views: also a view feedback per shown item
  --out          prepare: the CSV; run: the JSON summary`;

function positiveInt(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^[1-9]\d*$/.test(text)) throw new UsageError(`--${name} must be a positive integer, got ${JSON.stringify(text)}`);
  return Number(text);
}

async function main(): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args: process.argv.slice(2),
    options: {
      dataset: { type: 'string' },
      'test-days': { type: 'string' },
      'test-fraction': { type: 'string' },
      out: { type: 'string' },
      experiment: { type: 'string' },
      url: { type: 'string' },
      key: { type: 'string' },
      seed: { type: 'string' },
      users: { type: 'string' },
      concurrency: { type: 'string' },
      views: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: true,
  });
  if (values.help === true) throw new UsageError('');
  const [command, ...rest] = positionals;
  if (command !== 'prepare' && command !== 'run') throw new UsageError('give a command: prepare or run');
  if (rest.length > 0) throw new UsageError(`unexpected argument ${rest[0]}`);
  const spec = splitSpecOption(values['test-days'], values['test-fraction']);
  if (command === 'prepare' && values.out === undefined) throw new UsageError('prepare needs --out');
  const experiment = values.experiment;
  if (command === 'run' && (experiment === undefined || experiment === '')) throw new UsageError('run needs --experiment');
  const apiKey = values.key ?? process.env.API_KEY;
  if (command === 'run' && (apiKey === undefined || apiKey === '')) throw new UsageError('run needs the API key: --key or API_KEY');
  const seed = positiveInt('seed', values.seed, 42);
  const limit = values.users === undefined ? undefined : positiveInt('users', values.users, 0);
  const concurrency = positiveInt('concurrency', values.concurrency, 8);

  const config = configWithDataset(values.dataset);
  const dataset = await loadDataset(config.dataset);
  const split = temporalSplit(dataset.interactions, spec);
  const w = (line: string): boolean => process.stdout.write(`${line}\n`);
  w(`dataset: ${dataset.description}; split: ${describeSplit(spec)}, test from ${new Date(split.cutoff * 1000).toISOString()}`);
  w(`test users: ${split.sizes.warmTest.users} warm + ${split.sizes.coldTest.users} cold; train: ${split.sizes.train.interactions} interactions`);
  if (command === 'prepare') {
    await writeTrainCsv(split.train, values.out as string);
    w(`train part: ${displayPath(values.out as string)} (serve it with DATASET=${displayPath(values.out as string)})`);
    return 0;
  }
  const users = simulatedUsers(split, seed, limit);
  const url = (values.url ?? process.env.LOAD_URL ?? 'http://127.0.0.1:8080').replace(/\/$/, '');
  const started = performance.now();
  const result = await simulate({ url, apiKey: apiKey as string, route: experiment as string, users, concurrency, views: values.views === true });
  const seconds = (performance.now() - started) / 1000;
  w(`simulated ${result.users} users in ${seconds.toFixed(1)} s: statuses ${JSON.stringify(result.statuses)}`);
  w(`recommendations clicked: ${result.clickedRecommendations}; click lines ${result.clicks}, view lines ${result.views}; feedback failures ${JSON.stringify(result.feedbackFailures)}`);
  if (values.out !== undefined) {
    const { recommendations: _recommendations, ...summary } = result;
    await writeFile(values.out, `${JSON.stringify({ url, experiment, seed, split: spec, dataset: dataset.description, seconds, ...summary }, null, 2)}\n`);
    w(`summary: ${displayPath(values.out)}`);
  }
  const failedFeedback = Object.values(result.feedbackFailures).reduce((s, n) => s + n, 0);
  return (result.statuses['200'] ?? 0) === result.requests && failedFeedback === 0 ? 0 : 1;
}

runCli('simulate', USAGE, main);
