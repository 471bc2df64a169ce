/**
 * `npm run profile:trace -- <trace_id>` and `npm run profile:window -- --from <t> --to <t>
 * [--route <template>] [--model <name>] [--model-version <v>]`: a continuous profile's
 * flamegraph from the service's profile store (see continuous.ts). One program, two commands
 * (the first argument), since they share every option but the query.
 *
 * Writes profiles/runs/trace/<trace_id>/ or profiles/runs/window/<from>-<to>[…]/ (stacks.folded,
 * meta.json, flamegraph.html), prints the top frames, and `profile:compare` takes either.
 * Exit codes: 0 done, 1 nothing found / unreadable, 2 bad usage.
 */
import { resolve } from 'node:path';
import type { Client } from '@elastic/elasticsearch';
import { createElasticsearchClient, describeElasticsearchError, elasticsearchSettings } from '../elk/client';
import { displayPath, parseCommandLine, runCli, UsageError } from '../src/cli/usage';
import type { ProfileMetadata } from '../src/profiling/labels';
import { flagOrEnv } from '../loadtest/options';
import { ContinuousError, ownFrames, profilePath, profilesOfTrace, profilesOfWindow, storeProfiles, writeContinuousRun, type SampleFilter } from './continuous';
import { frameShares, idleShare } from './folded';
import { pct, renderTopTable } from './report';
import { DEFAULT_PROFILES_DIR } from './run';

const USAGE = `usage: npm run profile:trace -- <trace_id> [options]
       npm run profile:window -- --from <time> --to <time> [--route <template>] [--model <name>] [--model-version <v>] [options]

  Finds the service's continuous profiles (PROFILING_ENABLED=true) in Elasticsearch by their
  profile-written log lines, keeps the samples of the trace (or of the window, route, model,
  version) and writes a run folder with its flamegraph; npm run profile:compare reads it.
  Times are ISO 8601 (2026-12-01T20:00:00Z); the window selects whole profiles (PROFILING_PERIOD_S).

  --es-url <url>         Elasticsearch (env ELASTICSEARCH_URL; default http://127.0.0.1:9200)
  --store <dir>          read the profile files from here instead of the path the service logged
  --local <dir>          no Elasticsearch: read every profile in this store directory
  --wait <seconds>       poll Elasticsearch this long for a matching profile (default 0: ask once)
  --top <n>              frames printed (default 10)
  --profiles-dir <dir>   where the run folder goes (env PROFILES_DIR; default profiles/runs/)
`;

const TRACE_ID = /^[0-9a-f]{32}$/;

function parseTime(flag: string, value: string | undefined): Date {
  if (value === undefined) throw new UsageError(`--${flag} is required`);
  const time = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(time.getTime())) throw new UsageError(`invalid --${flag} '${value}': an ISO 8601 time like 2026-12-01T20:00:00Z`);
  return time;
}

function compact(time: Date): string {
  return time.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

function slug(text: string): string {
  return text.replace(/^\/+/, '').replace(/[^A-Za-z0-9_.-]+/g, '_').slice(0, 60);
}

async function poll(find: () => Promise<ProfileMetadata[]>, waitSeconds: number): Promise<ProfileMetadata[]> {
  const deadline = Date.now() + waitSeconds * 1000;
  for (;;) {
    const found = await find();
    if (found.length > 0 || Date.now() >= deadline) return found;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function main(): Promise<number> {
  const [command, ...args] = process.argv.slice(2);
  if (command === '--help' || command === '-h') throw new UsageError('');
  if (command !== 'trace' && command !== 'window') throw new UsageError(`expected trace or window, got '${command ?? ''}'`);
  const { values, positionals } = parseCommandLine({
    args,
    allowPositionals: command === 'trace',
    options: {
      from: { type: 'string' },
      to: { type: 'string' },
      route: { type: 'string' },
      model: { type: 'string' },
      'model-version': { type: 'string' },
      'es-url': { type: 'string' },
      store: { type: 'string' },
      local: { type: 'string' },
      wait: { type: 'string' },
      top: { type: 'string' },
      'profiles-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) throw new UsageError('');
  const top = values.top === undefined ? 10 : Number(values.top);
  if (!Number.isInteger(top) || top < 1) throw new UsageError(`invalid --top '${values.top}': a positive integer`);
  if (!/^\d+$/.test(values.wait ?? '0')) throw new UsageError(`invalid --wait '${values.wait}': whole seconds`);
  const wait = Number(values.wait ?? '0');
  const profilesDir = resolve(flagOrEnv(values, 'profiles-dir', 'PROFILES_DIR', process.env) ?? DEFAULT_PROFILES_DIR);
  const store = values.store === undefined ? undefined : resolve(values.store);

  let filter: SampleFilter;
  let name: string;
  let query: Record<string, unknown>;
  let find: (es: Client) => Promise<ProfileMetadata[]>;
  if (command === 'trace') {
    const traceId = positionals[0]?.toLowerCase();
    if (positionals.length !== 1 || traceId === undefined || !TRACE_ID.test(traceId)) throw new UsageError('expected one trace id (32 hex digits)');
    filter = { traceId };
    name = traceId;
    query = { trace_id: traceId };
    find = (es) => profilesOfTrace(es, traceId);
  } else {
    const from = parseTime('from', values.from);
    const to = parseTime('to', values.to);
    if (to <= from) throw new UsageError('--to must be after --from');
    const q = { from, to, route: values.route, model: values.model, modelVersion: values['model-version'] };
    filter = { route: q.route, model: q.model, modelVersion: q.modelVersion };
    name = [`${compact(from)}-${compact(to)}`, q.route && `r-${slug(q.route)}`, q.model && `m-${slug(q.model)}`, q.modelVersion && `v-${slug(q.modelVersion)}`]
      .filter((part) => typeof part === 'string' && part !== '')
      .join('_');
    query = { from: from.toISOString(), to: to.toISOString(), route: q.route ?? null, model: q.model ?? null, model_version: q.modelVersion ?? null };
    find = (es) => profilesOfWindow(es, q);
  }

  let files: string[];
  if (values.local !== undefined) {
    files = storeProfiles(resolve(values.local));
  } else {
    const settings = elasticsearchSettings({ ...process.env, ...(values['es-url'] === undefined ? {} : { ELASTICSEARCH_URL: values['es-url'] }) });
    const es = createElasticsearchClient(settings);
    let found: ProfileMetadata[];
    try {
      found = await poll(() => find(es), wait);
    } catch (error) {
      throw new ContinuousError(describeElasticsearchError(error, settings.url));
    } finally {
      await es.close();
    }
    if (found.length === 0) throw new ContinuousError(`no continuous profile matches ${JSON.stringify(query)} in Elasticsearch at ${settings.url} (is PROFILING_ENABLED=true, was the trace sampled, has its profile been cut yet?)`);
    files = found.map((meta) => profilePath(meta, store));
  }

  const run = writeContinuousRun({ profilesDir, scenario: command, name, files, filter, query });
  const shares = frameShares(run.folded);
  const own = ownFrames(shares);
  process.stdout.write(
    `${run.samples} samples from ${run.profiles.length} of ${files.length} profiles (${pct(idleShare(shares))} idle)\n` +
      `flamegraph: ${displayPath(resolve(run.dir, 'flamegraph.html'))}\n` +
      `run folder: ${displayPath(run.dir)} (npm run profile:compare -- ${displayPath(run.dir)} <other run>)\n\n` +
      (run.samples === 0
        ? 'no samples: the trace ran between two samples (shorter than the sampling interval)\n'
        : `top self time:\n${renderTopTable(run.top.filter((f) => f.self > 0).slice(0, top))}\n\n` +
          `top self time in our code (src/):\n${own.length === 0 ? '(none)' : renderTopTable(own.slice(0, top))}\n`),
  );
  return 0;
}

runCli('profile:continuous', USAGE, main);
