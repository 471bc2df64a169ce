/**
 * The online simulator's users: the test part of evaluation/split.ts's split, in a seeded
 * order (same seed, same users in the same order), and the train part written for the service
 * loads back as the same interaction store.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { temporalSplit } from '../../evaluation/split';
import { simulatedUsers, writeTrainCsv } from '../../loadtest/simulate';
import { loadInteractionsCsv } from '../../src/data/csv';
import { fingerprintInteractions } from '../../src/data/fingerprint';
import { generateInteractions } from '../../src/data/synthetic';

describe('the simulator', () => {
  const data = generateInteractions({ users: 800, items: 120, interactions: 8000, seed: 3 });
  const split = temporalSplit(data, { kind: 'days', days: 7 });

  it('replays every test user once (warm and cold) with exactly their test-period items', () => {
    const users = simulatedUsers(split, 42);
    assert.equal(users.length, split.sizes.test.users);
    assert.equal(new Set(users.map((u) => u.userId)).size, users.length);
    assert.equal(users.reduce((s, u) => s + u.future.size, 0), split.sizes.test.interactions);
    // Each future item is a test-period interaction of that user in the full data.
    const cutoff = split.cutoff;
    for (const u of users.slice(0, 50)) {
      const row = data.users.indexOf(u.userId);
      const later = new Set<number>();
      for (let p = data.userPtr[row] as number; p < (data.userPtr[row + 1] as number); p++) {
        if ((data.timestamps[p] as number) >= cutoff) later.add(data.items.ids[data.itemIdx[p] as number] as number);
      }
      assert.deepEqual([...u.future].sort((a, b) => a - b), [...later].sort((a, b) => a - b));
    }
  });

  it('is deterministic: the same seed gives the same users in the same order, another seed another order', () => {
    const ids = (seed: number) => simulatedUsers(split, seed).map((u) => u.userId);
    assert.deepEqual(ids(7), ids(7));
    assert.notDeepEqual(ids(7), ids(8));
    assert.deepEqual([...ids(7)].sort((a, b) => a - b), [...ids(8)].sort((a, b) => a - b));
    assert.deepEqual(simulatedUsers(split, 7, 10).map((u) => u.userId), ids(7).slice(0, 10));
  });

  it('writes the train part as a CSV that loads back as the same store', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'recoscope-sim-'));
    try {
      const file = join(dir, 'train.csv');
      await writeTrainCsv(split.train, file);
      const loaded = await loadInteractionsCsv(file);
      assert.equal(loaded.interactions.nnz, split.train.nnz);
      assert.equal(fingerprintInteractions(loaded.interactions), fingerprintInteractions(split.train));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
