/**
 * Every model on the real MovieLens small dataset, read in place from ../shared (never copied
 * into the project): counts, and for every user exactly k distinct, unseen, existing items.
 */
import assert from 'node:assert/strict';
import { before, it } from 'node:test';
import { loadInteractionsCsv } from '../../src/data/csv';
import type { Interactions } from '../../src/data/interactions';
import { MODEL_NAMES, modelSpec } from '../../src/models/catalog';
import type { PopularRecommender } from '../../src/models/popular';
import { untracedStages } from '../../src/models/stages';
import { instantiate, trainModel } from '../../src/models/training';
import { describeWithSharedData } from '../helpers/shared';

const PARAMS = { popularWindowDays: 14, knnNeighbours: 50, bm25K1: 1.2, bm25B: 0.75 };
const K = 10;

describeWithSharedData('MovieLens small (real data)', ['data', 'movielens-small', 'ratings.csv'], (ratings) => {
  let data: Interactions;

  before(async () => {
    const loaded = await loadInteractionsCsv(ratings);
    assert.equal(loaded.schema, 'movielens');
    assert.equal(loaded.skipped, 0);
    data = loaded.interactions;
  });

  it('loads 100,836 ratings of 610 users on 9,724 movies', () => {
    assert.equal(data.nnz, 100_836);
    assert.equal(data.nUsers, 610);
    assert.equal(data.nItems, 9_724);
    assert.equal(data.users.ids[0], 1);
    assert.equal(data.users.ids[609], 610);
  });

  let popular: PopularRecommender;
  for (const name of MODEL_NAMES) {
    it(`${name}: every user gets ${K} distinct unseen existing items`, (t) => {
      const spec = modelSpec(name, PARAMS);
      const trained = trainModel(spec, data);
      t.diagnostic(`${name} trained on MovieLens in ${trained.trainMs} ms`);
      const model = instantiate(spec, trained.state, data, popular);
      if (name === 'popular') popular = model as PopularRecommender;

      let filled = 0;
      for (let u = 0; u < data.nUsers; u++) {
        const userId = data.users.ids[u] as number;
        const rec = model.recommend(userId, K, untracedStages);
        assert.equal(rec.items.length, K, `user ${userId}`);
        assert.equal(new Set(rec.items).size, K, `user ${userId}: duplicates`);
        assert.equal(rec.coldStart, false);
        filled += rec.fallback;
        const seen = new Set<number>();
        for (let p = data.userPtr[u] as number; p < (data.userPtr[u + 1] as number); p++) seen.add(data.itemIdx[p] as number);
        for (const item of rec.items) {
          const idx = data.items.indexOf(item);
          assert.ok(idx >= 0, `user ${userId}: item ${item} does not exist`);
          assert.ok(!seen.has(idx), `user ${userId}: item ${item} already seen`);
        }
      }
      t.diagnostic(`${name}: ${filled} of ${data.nUsers * K} items filled from popular`);
      if (name !== 'popular') assert.ok(filled < data.nUsers, 'kNN itself answers almost everything');
      const cold = model.recommend(999_999, K, untracedStages);
      assert.equal(cold.coldStart, true);
      assert.equal(cold.items.length, K);

      // Micro-benchmark, printed only: per-request latency over every user, 20 rounds.
      const rounds = 20;
      const started = process.hrtime.bigint();
      for (let r = 0; r < rounds; r++) {
        for (let u = 0; u < data.nUsers; u++) model.recommend(data.users.ids[u] as number, K, untracedStages);
      }
      const perRequestUs = Number(process.hrtime.bigint() - started) / 1000 / (rounds * data.nUsers);
      t.diagnostic(`${name}: recommend() ${perRequestUs.toFixed(1)} µs/request (mean over ${rounds * data.nUsers})`);
    });
  }
});
