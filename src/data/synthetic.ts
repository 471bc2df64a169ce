/**
 * A deterministic Kion-like dataset: the same parameters and seed give the same interactions,
 * whether generated straight into the store (the server's default dataset) or written as CSV.
 *
 * Shape, chosen to exercise the models the way real Kion data does:
 *  - item popularity is Zipf-like (weight ∝ 1/rank^1.05 over a seeded shuffle of the items);
 *  - items belong to taste clusters; each user has one or two clusters and takes 80% of
 *    their items from them, the rest from the global popularity curve, so item-item
 *    co-occurrence carries signal for kNN to find;
 *  - user activity is heavy-tailed (Lomax, α = 1.5), every user has at least one interaction,
 *    nobody sees more than half the catalogue, and the total is exactly `interactions`;
 *  - dates fall in a 180-day window ending on a fixed day, each user active from a random
 *    start day onwards, so recent days are busier (as in a growing service);
 *  - each user's items are distinct, as in Kion (one row per user-item pair).
 */
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { once } from 'node:events';
import type { Rng } from './prng';
import { createRng, shuffledIds } from './prng';
import type { Interactions } from './interactions';
import { InteractionsBuilder } from './interactions';
import { daysToSeconds, formatIsoDate, kionWeight, parseIsoDate, SCHEMA_COLUMNS } from './schemas';

export interface SyntheticParams {
  users: number;
  items: number;
  interactions: number;
  seed: number;
}

/** Roughly the MTS Kion dataset (RecSys course): 962k users, 15.9k items, 5.48M rows. */
export const KION_PRESET: Omit<SyntheticParams, 'seed'> = { users: 960_000, items: 16_000, interactions: 5_500_000 };

export const WINDOW_DAYS = 180;
/** Kion's last day, fixed so the dataset (and so `popular`'s window) never depends on today. */
export const WINDOW_END_DATE = '2021-08-22';
const WINDOW_END = parseIsoDate(WINDOW_END_DATE) as number;

const ZIPF_EXPONENT = 1.05;
const ACTIVITY_ALPHA = 1.5;
const CLUSTER_SHARE = 0.8;
const SECOND_CLUSTER_PROBABILITY = 0.5;
const PRIMARY_CLUSTER_SHARE = 0.75;
const MISSING_PCT_PROBABILITY = 0.002;
const FINISHED_PROBABILITY = 0.35;
const MAX_REDRAWS = 16;

export class SyntheticParamsError extends Error {
  override name = 'SyntheticParamsError';
}

export function validateSyntheticParams(p: SyntheticParams): void {
  const problems: string[] = [];
  const positiveInt = (name: keyof SyntheticParams, max: number) => {
    const v = p[name];
    if (!Number.isInteger(v) || v < 1 || v > max) problems.push(`${name} must be an integer in [1, ${max}], got ${v}`);
  };
  positiveInt('users', 2 ** 31 - 1);
  positiveInt('items', 2 ** 31 - 2);
  positiveInt('interactions', 2 ** 31 - 1);
  if (!Number.isInteger(p.seed) || p.seed < 0 || p.seed > 2 ** 31 - 1) problems.push(`seed must be an integer in [0, 2^31 - 1], got ${p.seed}`);
  if (problems.length === 0) {
    if (p.interactions < p.users) {
      problems.push(`interactions (${p.interactions}) must be at least users (${p.users}): every generated user has an interaction`);
    } else if (p.interactions > p.users * maxPerUser(p.items)) {
      problems.push(
        `interactions (${p.interactions}) exceed users × ${maxPerUser(p.items)} (a user sees at most half of ${p.items} items)`,
      );
    }
  }
  if (problems.length > 0) throw new SyntheticParamsError(`invalid synthetic dataset parameters: ${problems.join('; ')}`);
}

/** Half the catalogue, so every user has items left to recommend. */
function maxPerUser(items: number): number {
  return Math.max(1, Math.floor(items / 2));
}

/** One user's rows, in reusable buffers. */
export interface UserRows {
  userId: number;
  count: number;
  itemIds: Int32Array;
  /** Day index in [0, WINDOW_DAYS); day WINDOW_DAYS - 1 is WINDOW_END_DATE. */
  days: Int32Array;
  totalDur: Int32Array;
  /** NaN where watched_pct is missing. */
  watchedPct: Float64Array;
}

/** Walks users 0..users-1 in order; `next()` fills the shared buffers with the next user. */
export class SyntheticGenerator {
  readonly params: SyntheticParams;
  private readonly rng: Rng;
  private readonly activity: Int32Array;
  private readonly globalCdf: Float64Array;
  /** Items grouped by cluster; cluster c owns clusterItems[clusterStart[c] .. clusterStart[c+1]). */
  private readonly clusterItems: Int32Array;
  private readonly clusterStart: Int32Array;
  /** Running popularity sum within each cluster (restarting at each cluster), aligned with clusterItems. */
  private readonly clusterCdf: Float64Array;
  private readonly clusterMassCdf: Float64Array;
  private readonly lastUserOf: Int32Array;
  private user = 0;
  private readonly rows: UserRows;

  constructor(params: SyntheticParams) {
    validateSyntheticParams(params);
    this.params = params;
    const { users, items } = params;
    this.rng = createRng(params.seed);
    const rng = this.rng;

    // Popularity: a seeded shuffle decides which item ids are the hits.
    const rankOf = shuffledIds(items, rng);
    const popularity = new Float64Array(items);
    for (let i = 0; i < items; i++) popularity[i] = Math.pow((rankOf[i] as number) + 1, -ZIPF_EXPONENT);
    this.globalCdf = cumulative(popularity);

    // Clusters of roughly equal size, about sqrt(items)/3 of them (42 for Kion's 16k items).
    const nClusters = Math.max(1, Math.min(64, Math.round(Math.sqrt(items) / 3)));
    const clusterOf = new Int32Array(items);
    for (let i = 0; i < items; i++) clusterOf[i] = rng.int(nClusters);
    const sizes = new Int32Array(nClusters);
    for (let i = 0; i < items; i++) sizes[clusterOf[i] as number] = (sizes[clusterOf[i] as number] as number) + 1;
    this.clusterStart = new Int32Array(nClusters + 1);
    for (let c = 0; c < nClusters; c++) this.clusterStart[c + 1] = (this.clusterStart[c] as number) + (sizes[c] as number);
    this.clusterItems = new Int32Array(items);
    const fill = this.clusterStart.slice(0, nClusters);
    for (let i = 0; i < items; i++) {
      const c = clusterOf[i] as number;
      const at = fill[c] as number;
      this.clusterItems[at] = i;
      fill[c] = at + 1;
    }
    this.clusterCdf = new Float64Array(items);
    const clusterMass = new Float64Array(nClusters);
    for (let c = 0; c < nClusters; c++) {
      let acc = 0;
      for (let p = this.clusterStart[c] as number; p < (this.clusterStart[c + 1] as number); p++) {
        acc += popularity[this.clusterItems[p] as number] as number;
        this.clusterCdf[p] = acc;
      }
      clusterMass[c] = acc;
    }
    this.clusterMassCdf = cumulative(clusterMass);

    this.activity = allocateActivity(params, rng);
    this.lastUserOf = new Int32Array(items).fill(-1);
    let maxCount = 0;
    for (let u = 0; u < users; u++) maxCount = Math.max(maxCount, this.activity[u] as number);
    this.rows = {
      userId: 0,
      count: 0,
      itemIds: new Int32Array(maxCount),
      days: new Int32Array(maxCount),
      totalDur: new Int32Array(maxCount),
      watchedPct: new Float64Array(maxCount),
    };
  }

  /** The next user's rows, or undefined when all users are done. The buffers are reused. */
  next(): UserRows | undefined {
    const u = this.user;
    if (u >= this.params.users) return undefined;
    this.user++;
    const rng = this.rng;
    const n = this.activity[u] as number;
    const primary = pickCumulative(this.clusterMassCdf, 0, this.clusterMassCdf.length, rng.next());
    const secondary =
      rng.next() < SECOND_CLUSTER_PROBABILITY ? pickCumulative(this.clusterMassCdf, 0, this.clusterMassCdf.length, rng.next()) : primary;
    const startDay = rng.int(WINDOW_DAYS);
    const rows = this.rows;
    rows.userId = u;
    rows.count = n;
    for (let k = 0; k < n; k++) {
      const item = this.drawUnseenItem(u, primary, secondary);
      this.lastUserOf[item] = u;
      rows.itemIds[k] = item;
      rows.days[k] = startDay + rng.int(WINDOW_DAYS - startDay);
      const r = rng.next();
      let pct: number;
      if (r < MISSING_PCT_PROBABILITY) pct = NaN;
      else if (r < MISSING_PCT_PROBABILITY + FINISHED_PROBABILITY) pct = 90 + rng.int(11);
      else pct = rng.int(90);
      rows.watchedPct[k] = pct;
      rows.totalDur[k] = 60 + rng.int(20_000);
    }
    return rows;
  }

  private drawUnseenItem(u: number, primary: number, secondary: number): number {
    const rng = this.rng;
    for (let attempt = 0; attempt < MAX_REDRAWS; attempt++) {
      let item: number;
      if (rng.next() < CLUSTER_SHARE) {
        const c = secondary === primary || rng.next() < PRIMARY_CLUSTER_SHARE ? primary : secondary;
        const p = pickCumulative(this.clusterCdf, this.clusterStart[c] as number, this.clusterStart[c + 1] as number, rng.next());
        item = this.clusterItems[p] as number;
      } else {
        item = pickCumulative(this.globalCdf, 0, this.globalCdf.length, rng.next());
      }
      if (this.lastUserOf[item] !== u) return item;
    }
    // A heavy user has exhausted their likely items: take the next unseen one from a random spot.
    const items = this.params.items;
    let item = rng.int(items);
    while (this.lastUserOf[item] === u) item = (item + 1) % items;
    return item;
  }
}

/** Index in [from, to) drawn by a running sum that starts from zero at `from`. */
function pickCumulative(cdf: Float64Array, from: number, to: number, r: number): number {
  const target = r * (cdf[to - 1] as number);
  let lo = from;
  let hi = to - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((cdf[mid] as number) > target) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function cumulative(values: Float64Array): Float64Array {
  const out = new Float64Array(values.length);
  let acc = 0;
  for (let i = 0; i < values.length; i++) {
    acc += values[i] as number;
    out[i] = acc;
  }
  return out;
}

/** Interactions per user: 1 + a Lomax-distributed share of the rest, summing exactly to the total. */
function allocateActivity(params: SyntheticParams, rng: Rng): Int32Array {
  const { users, interactions } = params;
  const cap = maxPerUser(params.items);
  const raw = new Float64Array(users);
  let sum = 0;
  for (let u = 0; u < users; u++) {
    const v = Math.pow(1 - rng.next(), -1 / ACTIVITY_ALPHA) - 1;
    raw[u] = v;
    sum += v;
  }
  const extra = interactions - users;
  const scale = sum > 0 ? extra / sum : 0;
  const activity = new Int32Array(users);
  let assigned = 0;
  for (let u = 0; u < users; u++) {
    const n = Math.min(cap, 1 + Math.floor((raw[u] as number) * scale));
    activity[u] = n;
    assigned += n;
  }
  // Flooring and capping leave a remainder: hand it out one at a time, in user order.
  let remaining = interactions - assigned;
  while (remaining > 0) {
    for (let u = 0; u < users && remaining > 0; u++) {
      const n = activity[u] as number;
      if (n < cap) {
        activity[u] = n + 1;
        remaining--;
      }
    }
  }
  return activity;
}

/** Unix seconds of a window day (users and items are simply numbered from 0). */
export function dayToTimestamp(day: number): number {
  return WINDOW_END - daysToSeconds(WINDOW_DAYS - 1 - day);
}

export function generateInteractions(params: SyntheticParams): Interactions {
  const generator = new SyntheticGenerator(params);
  const builder = new InteractionsBuilder(params.interactions);
  for (let rows = generator.next(); rows !== undefined; rows = generator.next()) {
    for (let k = 0; k < rows.count; k++) {
      const pct = rows.watchedPct[k] as number;
      builder.append(
        rows.userId,
        rows.itemIds[k] as number,
        kionWeight(Number.isNaN(pct) ? undefined : pct),
        dayToTimestamp(rows.days[k] as number),
      );
    }
  }
  return builder.build().interactions;
}

export interface CsvWriteResult {
  rows: number;
  bytes: number;
}

/** Streams the dataset to a Kion-schema CSV, ~1 MB at a time, honouring back-pressure. */
export async function writeSyntheticCsv(params: SyntheticParams, outPath: string): Promise<CsvWriteResult> {
  const generator = new SyntheticGenerator(params);
  await mkdir(dirname(outPath), { recursive: true });
  const out = createWriteStream(outPath);
  const failed = new Promise<never>((_, reject) => out.once('error', reject));
  failed.catch(() => undefined);
  const dates: string[] = [];
  for (let d = 0; d < WINDOW_DAYS; d++) dates.push(formatIsoDate(dayToTimestamp(d)));

  let chunk = `${SCHEMA_COLUMNS.kion.join(',')}\n`;
  let rowsWritten = 0;
  let bytes = 0;
  for (let rows = generator.next(); rows !== undefined; rows = generator.next()) {
    for (let k = 0; k < rows.count; k++) {
      const pct = rows.watchedPct[k] as number;
      chunk += `${rows.userId},${rows.itemIds[k]},${dates[rows.days[k] as number]},${rows.totalDur[k]},${Number.isNaN(pct) ? '' : pct}\n`;
    }
    rowsWritten += rows.count;
    if (chunk.length >= 1 << 20) {
      bytes += chunk.length;
      if (!out.write(chunk)) await Promise.race([once(out, 'drain'), failed]);
      chunk = '';
    }
  }
  bytes += chunk.length;
  out.end(chunk);
  await Promise.race([once(out, 'finish'), failed]);
  return { rows: rowsWritten, bytes };
}
