/**
 * Temporal train/test split of an interaction store.
 *
 * The store holds one row per (user, item) with its latest timestamp (duplicates are merged on
 * load), so a pair is in the test part exactly when its latest interaction is; an item a user
 * had in train is therefore never one of that user's test items.
 *
 *   --test-days D      test = interactions strictly after (newest timestamp − D days), the
 *                      same window convention as `popular` (7 daily dates for D = 7);
 *   --test-fraction f  test = the newest round(f · n) interactions, ties in time broken by
 *                      (user, item) so the split is deterministic.
 *
 * The train part is rebuilt as its own store (InteractionsBuilder), exactly what `npm run
 * train` would load had the file ended at the cut. Test users are split into warm (they have
 * train interactions: the metrics are computed over them) and cold (test only: counted).
 */
import { daysToSeconds } from '../src/data/schemas';
import type { Interactions } from '../src/data/interactions';
import { InteractionsBuilder } from '../src/data/interactions';
import { UsageError } from '../src/cli/usage';

export type SplitSpec = { kind: 'days'; days: number } | { kind: 'fraction'; fraction: number };

export interface PartSizes {
  users: number;
  items: number;
  interactions: number;
}

export interface TestPart {
  /** External user ids, ascending. */
  users: Int32Array;
  /** users[u]'s test items are items[ptr[u] .. ptr[u+1]) (external item ids). */
  ptr: Int32Array;
  items: Int32Array;
}

export interface Split {
  spec: SplitSpec;
  /** Interactions with timestamp ≥ this (Unix seconds) are test, modulo tie-breaking for fractions. */
  cutoff: number;
  train: Interactions;
  /** Test users that also have train interactions: the users the metrics are averaged over. */
  warm: TestPart;
  /** Test users unknown to the train part (cold start): counted, not scored. */
  cold: TestPart;
  sizes: { train: PartSizes; test: PartSizes; warmTest: PartSizes; coldTest: PartSizes };
}

/** `--test-days D` / `--test-fraction f` (at most one; default the last 7 days), as every CLI that splits reads them. */
export function splitSpecOption(testDays: string | undefined, testFraction: string | undefined): SplitSpec {
  if (testDays !== undefined && testFraction !== undefined) throw new UsageError('give --test-days or --test-fraction, not both');
  if (testFraction !== undefined) {
    const fraction = Number(testFraction);
    if (!(fraction > 0 && fraction < 1)) throw new UsageError(`--test-fraction must be in (0, 1), got ${JSON.stringify(testFraction)}`);
    return { kind: 'fraction', fraction };
  }
  if (testDays === undefined) return { kind: 'days', days: 7 };
  const days = Number(testDays);
  if (!(days > 0)) throw new UsageError(`--test-days must be a positive number, got ${JSON.stringify(testDays)}`);
  return { kind: 'days', days };
}

export function describeSplit(spec: SplitSpec): string {
  return spec.kind === 'days' ? `last ${spec.days} days` : `last ${spec.fraction} of interactions`;
}

/** Marks which rows of `data` are test rows (1) per the spec; returns the marks and the cut time. */
function testMask(data: Interactions, spec: SplitSpec): { mask: Uint8Array; cutoff: number } {
  const n = data.nnz;
  const ts = data.timestamps;
  const mask = new Uint8Array(n);
  if (spec.kind === 'days') {
    if (!(spec.days > 0)) throw new RangeError(`--test-days must be positive, got ${spec.days}`);
    const after = data.maxTimestamp() - daysToSeconds(spec.days);
    for (let p = 0; p < n; p++) if ((ts[p] as number) > after) mask[p] = 1;
    return { mask, cutoff: after + 1 };
  }
  if (!(spec.fraction > 0 && spec.fraction < 1)) throw new RangeError(`--test-fraction must be in (0, 1), got ${spec.fraction}`);
  const nTest = Math.round(spec.fraction * n);
  // Row positions are already in (user, item) order, so a stable sort by time breaks ties by it.
  const order = new Uint32Array(n);
  for (let p = 0; p < n; p++) order[p] = p;
  order.sort((a, b) => (ts[a] as number) - (ts[b] as number) || a - b);
  for (let r = n - nTest; r < n; r++) mask[order[r] as number] = 1;
  const cutoff = nTest > 0 ? (ts[order[n - nTest] as number] as number) : Number.POSITIVE_INFINITY;
  return { mask, cutoff };
}

export function temporalSplit(data: Interactions, spec: SplitSpec): Split {
  const { mask, cutoff } = testMask(data, spec);
  const userIds = data.users.ids;
  const itemIds = data.items.ids;

  let nTestRows = 0;
  for (let p = 0; p < mask.length; p++) nTestRows += mask[p] as number;
  const builder = new InteractionsBuilder(Math.max(16, data.nnz - nTestRows));
  const testItemSeen = new Uint8Array(data.nItems);
  const warmItemSeen = new Uint8Array(data.nItems);
  const coldItemSeen = new Uint8Array(data.nItems);
  const warm = { users: [] as number[], ptr: [0], items: [] as number[] };
  const cold = { users: [] as number[], ptr: [0], items: [] as number[] };
  let testItems = 0;
  let warmItems = 0;
  let coldItems = 0;

  for (let u = 0; u < data.nUsers; u++) {
    const start = data.userPtr[u] as number;
    const end = data.userPtr[u + 1] as number;
    let inTrain = 0;
    let inTest = 0;
    for (let p = start; p < end; p++) {
      if (mask[p] === 1) inTest++;
      else {
        inTrain++;
        builder.append(userIds[u] as number, itemIds[data.itemIdx[p] as number] as number, data.weights[p] as number, data.timestamps[p] as number);
      }
    }
    if (inTest === 0) continue;
    const part = inTrain > 0 ? warm : cold;
    const partSeen = inTrain > 0 ? warmItemSeen : coldItemSeen;
    part.users.push(userIds[u] as number);
    for (let p = start; p < end; p++) {
      if (mask[p] !== 1) continue;
      const i = data.itemIdx[p] as number;
      part.items.push(itemIds[i] as number);
      if (testItemSeen[i] === 0) {
        testItemSeen[i] = 1;
        testItems++;
      }
      if (partSeen[i] === 0) {
        partSeen[i] = 1;
        if (inTrain > 0) warmItems++;
        else coldItems++;
      }
    }
    part.ptr.push(part.items.length);
  }
  const train = builder.build().interactions;
  const toPart = (p: typeof warm): TestPart => ({ users: Int32Array.from(p.users), ptr: Int32Array.from(p.ptr), items: Int32Array.from(p.items) });
  return {
    spec,
    cutoff,
    train,
    warm: toPart(warm),
    cold: toPart(cold),
    sizes: {
      train: { users: train.nUsers, items: train.nItems, interactions: train.nnz },
      test: { users: warm.users.length + cold.users.length, items: testItems, interactions: nTestRows },
      warmTest: { users: warm.users.length, items: warmItems, interactions: warm.items.length },
      coldTest: { users: cold.users.length, items: coldItems, interactions: cold.items.length },
    },
  };
}
