import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createRng } from '../../src/data/prng';
import {
  generateInteractions,
  SyntheticParamsError,
  validateSyntheticParams,
  WINDOW_DAYS,
  WINDOW_END_DATE,
  writeSyntheticCsv,
} from '../../src/data/synthetic';

const dir = mkdtempSync(join(tmpdir(), 'recoscope-synth-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const small = { users: 5_000, items: 1_000, interactions: 50_000, seed: 42 };
const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('PRNG', () => {
  it('is a fixed sequence for a seed (pinned values: a change breaks every dataset)', () => {
    const rng = createRng(42);
    const first = [rng.next(), rng.next(), rng.next()];
    const again = createRng(42);
    assert.deepEqual([again.next(), again.next(), again.next()], first);
    assert.notDeepEqual([createRng(43).next()], [first[0]]);
    for (const v of first) assert.ok(v >= 0 && v < 1);
    // Pinned so an accidental change to the generator is caught, not silently re-seeded.
    assert.deepEqual(
      first.map((v) => Math.round(v * 2 ** 32)),
      PINNED_42,
    );
  });

  it('int(n) stays in range and covers it', () => {
    const rng = createRng(1);
    const seen = new Set<number>();
    for (let i = 0; i < 1000; i++) {
      const v = rng.int(7);
      assert.ok(Number.isInteger(v) && v >= 0 && v < 7);
      seen.add(v);
    }
    assert.equal(seen.size, 7);
  });
});

// xoshiro128** seeded by splitmix32(42); recorded from the first run, then frozen.
const PINNED_42 = [2837322924, 544945897, 479756282];

describe('synthetic Kion-like data', () => {
  it('same seed → byte-identical CSV; different seed → different CSV', async () => {
    const a = join(dir, 'a.csv');
    const b = join(dir, 'b.csv');
    const c = join(dir, 'c.csv');
    await writeSyntheticCsv(small, a);
    await writeSyntheticCsv(small, b);
    await writeSyntheticCsv({ ...small, seed: 43 }, c);
    assert.equal(sha(a), sha(b));
    assert.notEqual(sha(a), sha(c));
    const lines = readFileSync(a, 'utf8').split('\n');
    assert.equal(lines[0], 'user_id,item_id,last_watch_dt,total_dur,watched_pct');
    assert.equal(lines.length, small.interactions + 2); // header + rows + trailing newline
  });

  it('has exactly the requested sizes, distinct items per user, dates inside the window', () => {
    const d = generateInteractions(small);
    assert.equal(d.nnz, small.interactions);
    assert.equal(d.nUsers, small.users);
    assert.ok(d.nItems <= small.items && d.nItems > small.items * 0.9);
    const end = Date.parse(`${WINDOW_END_DATE}T00:00:00Z`) / 1000;
    const start = end - (WINDOW_DAYS - 1) * 86_400;
    for (let p = 0; p < d.nnz; p++) {
      const t = d.timestamps[p] as number;
      assert.ok(t >= start && t <= end && (t - start) % 86_400 === 0);
    }
    for (let u = 0; u < d.nUsers; u++) {
      for (let p = (d.userPtr[u] as number) + 1; p < (d.userPtr[u + 1] as number); p++) {
        assert.ok((d.itemIdx[p] as number) > (d.itemIdx[p - 1] as number), 'rows strictly ascending = no duplicates');
      }
    }
  });

  it('item popularity is heavy-tailed: the top 1% of items take a large share', () => {
    const d = generateInteractions({ users: 20_000, items: 2_000, interactions: 200_000, seed: 42 });
    const counts = new Array<number>(d.nItems).fill(0);
    for (const i of d.itemIdx) counts[i] = (counts[i] as number) + 1;
    counts.sort((x, y) => y - x);
    const top1 = counts.slice(0, Math.ceil(d.nItems / 100)).reduce((s, c) => s + c, 0);
    const share = top1 / d.nnz;
    // Uniform popularity would give ~1%; Zipf(1.05) gives ~20–30% here.
    assert.ok(share > 0.15, `top 1% share ${share.toFixed(3)}`);
    const median = counts[Math.floor(counts.length / 2)] as number;
    assert.ok((counts[0] as number) > 20 * median, 'the head is far above the median item');
  });

  it('user activity is heavy-tailed but everybody has at least one interaction', () => {
    const d = generateInteractions({ users: 20_000, items: 2_000, interactions: 200_000, seed: 42 });
    const degs: number[] = [];
    for (let u = 0; u < d.nUsers; u++) degs.push((d.userPtr[u + 1] as number) - (d.userPtr[u] as number));
    degs.sort((x, y) => x - y);
    assert.ok((degs[0] as number) >= 1);
    const mean = 200_000 / 20_000;
    assert.ok((degs[degs.length >> 1] as number) < mean, 'median below mean');
    assert.ok((degs[degs.length - 1] as number) > 20 * mean, 'a long tail of heavy users');
  });

  it('users concentrate on taste clusters: item pairs recur far more than popularity alone explains', () => {
    // Compare how often a user's item pairs recur across users against the same interactions
    // with items shuffled between users (same item popularity, same user activity, no taste).
    const d = generateInteractions({ users: 5_000, items: 5_000, interactions: 60_000, seed: 3 });
    const recurringShare = (items: Int32Array): number => {
      const pairs = new Map<number, number>();
      for (let u = 0; u < d.nUsers; u++) {
        const s = d.userPtr[u] as number;
        const e = Math.min(d.userPtr[u + 1] as number, s + 10);
        for (let p = s; p < e; p++) {
          for (let q = p + 1; q < e; q++) {
            const a = items[p] as number;
            const b = items[q] as number;
            const key = Math.min(a, b) * 100_000 + Math.max(a, b);
            pairs.set(key, (pairs.get(key) ?? 0) + 1);
          }
        }
      }
      let repeated = 0;
      let total = 0;
      for (const c of pairs.values()) {
        total += c;
        if (c > 1) repeated += c;
      }
      return repeated / total;
    };
    const shuffled = d.itemIdx.slice();
    const rng = createRng(99);
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      const t = shuffled[i] as number;
      shuffled[i] = shuffled[j] as number;
      shuffled[j] = t;
    }
    const clustered = recurringShare(d.itemIdx);
    const random = recurringShare(shuffled);
    // Measured 0.46 vs 0.26 for this seed.
    assert.ok(clustered > 1.5 * random, `recurring pair share ${clustered.toFixed(3)} vs ${random.toFixed(3)} without taste`);
  });

  it('rejects impossible parameters with a clear message', () => {
    assert.throws(() => validateSyntheticParams({ users: 10, items: 10, interactions: 5, seed: 1 }), SyntheticParamsError);
    assert.throws(
      () => validateSyntheticParams({ users: 1, items: 10, interactions: 6, seed: 1 }),
      /exceed users × 5/,
    );
    assert.throws(() => validateSyntheticParams({ users: 0, items: 10, interactions: 6, seed: -1 }), /users must be.*seed must be/);
  });
});
