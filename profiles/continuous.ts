/**
 * Continuous profiles (the service's PROFILING_ENABLED store) read back as profile runs:
 * find the profiles in Elasticsearch by their `profile-written` metadata lines (by trace id,
 * or by time window, route and model version), decode the gzip pprof files with pprof-format,
 * keep the samples that match, and write a run folder — stacks.folded, meta.json and a
 * flamegraph page — that `profile:compare` reads like any 0x run.
 *
 * Frame names are normalised as in folded.ts: `function file`, compiled dist/src/x.js shown
 * as src/x.ts, so a continuous profile lines up with a 0x run of the same code.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Client } from '@elastic/elasticsearch';
import { Profile } from 'pprof-format';
import { LOGS_DATA_VIEW_PATTERN } from '../src/contracts';
import { PROJECT_ROOT } from '../src/paths';
import { LABELS, PROFILE_FILE_SUFFIX, PROFILE_WRITTEN_ACTION, type ProfileMetadata } from '../src/profiling/labels';
import { writeFlamegraphPage } from './compare';
import { busyFrames, formatFolded, frameShares, normalisePath, totalSamples, type Folded, type FrameShare } from './folded';
import { RUN_FILES, updateLatest } from './run';

export class ContinuousError extends Error {
  override name = 'ContinuousError';
}

/** Which samples to keep; every given field must match the sample's label. */
export interface SampleFilter {
  traceId?: string;
  route?: string;
  model?: string;
  modelVersion?: string;
}

export interface WindowQuery {
  from: Date;
  to: Date;
  route?: string;
  model?: string;
  modelVersion?: string;
}

/** Profiles whose metadata names the trace, oldest first. */
export async function profilesOfTrace(es: Client, traceId: string): Promise<ProfileMetadata[]> {
  return searchProfiles(es, [{ term: { 'recoscope.profile.trace_ids': traceId } }]);
}

/** Profiles overlapping [from, to] with samples of the route / model / version, oldest first. */
export async function profilesOfWindow(es: Client, q: WindowQuery): Promise<ProfileMetadata[]> {
  const filter: Record<string, unknown>[] = [
    { range: { 'recoscope.profile.start': { lte: q.to.toISOString() } } },
    { range: { 'recoscope.profile.end': { gte: q.from.toISOString() } } },
  ];
  if (q.route !== undefined) filter.push({ term: { 'recoscope.profile.routes': q.route } });
  if (q.model !== undefined) filter.push({ term: { 'recoscope.profile.models': q.model } });
  if (q.modelVersion !== undefined) filter.push({ term: { 'recoscope.profile.model_versions': q.modelVersion } });
  return searchProfiles(es, filter);
}

async function searchProfiles(es: Client, filter: Record<string, unknown>[]): Promise<ProfileMetadata[]> {
  const response = await es.search<{ recoscope?: { profile?: ProfileMetadata } }>({
    index: LOGS_DATA_VIEW_PATTERN,
    size: 1000,
    ignore_unavailable: true,
    allow_no_indices: true,
    query: { bool: { filter: [{ term: { 'event.action': PROFILE_WRITTEN_ACTION } }, ...filter] } },
    sort: [{ '@timestamp': { order: 'asc' } }],
  });
  const seen = new Set<string>();
  const found: ProfileMetadata[] = [];
  for (const hit of response.hits.hits) {
    const profile = hit._source?.recoscope?.profile;
    if (profile === undefined || seen.has(profile.id)) continue;
    seen.add(profile.id);
    found.push(profile);
  }
  return found;
}

/** Every profile of a store directory, read without Elasticsearch (oldest first). */
export function storeProfiles(store: string): string[] {
  if (!existsSync(store)) throw new ContinuousError(`no profile store at ${store}`);
  return readdirSync(store)
    .filter((name) => name.endsWith(PROFILE_FILE_SUFFIX) && !name.startsWith('.'))
    .sort()
    .map((name) => join(store, name));
}

/** The file of a profile: in `storeOverride` when given (another host's path), else where the service wrote it. */
export function profilePath(meta: ProfileMetadata, storeOverride: string | undefined): string {
  return join(storeOverride ?? meta.store, basename(meta.file));
}

export function readProfile(path: string): Profile {
  return Profile.decode(gunzipSync(readFileSync(path)));
}

/** `(anonymous:L#5:C#56)` → `(anonymous)`: positions change with every edit, names do not. */
function functionName(raw: string): string {
  const name = raw.replace(/^\(anonymous(?::L#\d+:C#\d+)?\)$/, '(anonymous)').replace(/;/g, ',');
  return name === '' ? '(anonymous)' : name;
}

/** Folded stacks of the samples that match `filter` (all samples when it is empty). */
export function pprofToFolded(profile: Profile, filter: SampleFilter, projectRoot = PROJECT_ROOT, into: Folded = new Map()): Folded {
  const strings = profile.stringTable.strings;
  const str = (index: unknown): string => strings[Number(index)] ?? '';
  const functions = new Map<number, string>();
  for (const fn of profile.function) {
    const name = functionName(str(fn.name));
    const file = str(fn.filename);
    functions.set(Number(fn.id), file === '' ? name : `${name} ${normalisePath(file, projectRoot)}`);
  }
  const locations = new Map<number, string[]>();
  for (const loc of profile.location) {
    // A location's lines are innermost first (inlined callees before their caller).
    locations.set(
      Number(loc.id),
      loc.line.map((line) => functions.get(Number(line.functionId)) ?? '(unknown)'),
    );
  }
  const wanted: Array<[string, string]> = [];
  if (filter.traceId !== undefined) wanted.push([LABELS.traceId, filter.traceId]);
  if (filter.route !== undefined) wanted.push([LABELS.route, filter.route]);
  if (filter.model !== undefined) wanted.push([LABELS.model, filter.model]);
  if (filter.modelVersion !== undefined) wanted.push([LABELS.modelVersion, filter.modelVersion]);
  for (const sample of profile.sample) {
    const count = Number(sample.value[0] ?? 0);
    if (count <= 0) continue;
    if (wanted.length > 0) {
      const labels = new Map(sample.label.map((l) => [str(l.key), str(l.str)]));
      if (!wanted.every(([key, value]) => labels.get(key) === value)) continue;
    }
    // Sample locations are leaf first; folded stacks are root first.
    const frames: string[] = [];
    for (let i = sample.locationId.length - 1; i >= 0; i--) {
      const names = locations.get(Number(sample.locationId[i])) ?? ['(unknown)'];
      for (let j = names.length - 1; j >= 0; j--) frames.push(names[j] as string);
    }
    const key = frames.join(';');
    into.set(key, (into.get(key) ?? 0) + count);
  }
  return into;
}

/** Frames of our own code (src/), heaviest self time first. */
export function ownFrames(shares: readonly FrameShare[]): FrameShare[] {
  return busyFrames(shares).filter((f) => / src\//.test(f.frame) && f.self > 0);
}

export interface ContinuousRun {
  dir: string;
  samples: number;
  profiles: string[];
  folded: Folded;
  top: FrameShare[];
}

export interface RunOptions {
  /** profiles/runs (or --profiles-dir): the run goes to <root>/<scenario>/<name>/. */
  profilesDir: string;
  scenario: 'trace' | 'window';
  name: string;
  files: string[];
  filter: SampleFilter;
  /** What the run was asked for, kept in meta.json. */
  query: Record<string, unknown>;
}

/** Reads the profiles, keeps the matching samples, writes the run folder (replacing one of the same name). */
export function writeContinuousRun(options: RunOptions): ContinuousRun {
  const folded: Folded = new Map();
  const used: string[] = [];
  for (const file of options.files) {
    if (!existsSync(file)) throw new ContinuousError(`profile file ${file} is gone (pruned by retention, or on another host: pass --store)`);
    const before = totalSamples(folded);
    pprofToFolded(readProfile(file), options.filter, PROJECT_ROOT, folded);
    if (totalSamples(folded) > before) used.push(basename(file, PROFILE_FILE_SUFFIX));
  }
  const scenarioDir = join(options.profilesDir, options.scenario);
  const dir = join(scenarioDir, options.name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const samples = totalSamples(folded);
  writeFileSync(join(dir, RUN_FILES.folded), formatFolded(folded));
  writeFileSync(
    join(dir, RUN_FILES.meta),
    `${JSON.stringify(
      {
        scenario: options.scenario,
        run: options.name,
        startedAt: new Date().toISOString(),
        node: process.version,
        samples,
        continuous: { query: options.query, profiles: used, searched: options.files.map((f) => basename(f, PROFILE_FILE_SUFFIX)) },
        files: RUN_FILES,
      },
      null,
      2,
    )}\n`,
  );
  writeFlamegraphPage(dir, `${options.scenario} ${options.name}`, folded, { scenario: options.scenario, run: options.name, samples });
  updateLatest(scenarioDir, options.name);
  return { dir, samples, profiles: used, folded, top: busyFrames(frameShares(folded)) };
}
