/**
 * The offline metrics on tiny hand-worked examples. The ranking cases are the docstring
 * examples of rectools 0.19 (rectools/metrics/ranking.py, novelty.py), whose expected values
 * rectools itself prints; the others are worked out in the comments.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Metrics, Popularity } from '../../evaluation/metrics';
import { idealDcg, MetricsAccumulator, percentile } from '../../evaluation/metrics';

const noPopularity: Popularity = { nUsers: 1, usersOf: () => 1 };

/** rectools' example: reco and test interactions of users 1–4. */
const RECO: Record<number, number[]> = { 1: [7, 8], 2: [1, 2], 3: [1, 2, 3, 4], 4: [1, 2, 3] };
const RELEVANT: Record<number, number[]> = { 1: [1, 2], 2: [1], 3: [1, 3, 4], 4: [1, 2, 3] };

function perUser(k: number, reco: Record<number, number[]>, relevant: Record<number, number[]>, key: keyof Metrics, popularity = noPopularity): number[] {
  return Object.keys(relevant).map((u) => {
    const acc = new MetricsAccumulator(k, popularity);
    acc.add(reco[Number(u)] ?? [], new Set(relevant[Number(u)]));
    return acc.result()[key];
  });
}

function close(actual: number[], expected: number[], digits = 7): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((a, i) => assert.ok(Math.abs(a - (expected[i] as number)) < 10 ** -digits, `value ${i}: ${a} ≠ ${expected[i]} (all: ${actual.join(', ')})`));
}

describe('MAP@k (rectools MAP, divide_by_k=False)', () => {
  it('divides by the number of relevant items: the docstring example', () => {
    close(perUser(1, RECO, RELEVANT, 'map'), [0, 1, 1 / 3, 1 / 3]);
    // user 3: hits at 1 and 3 → (1/1 + 2/3) / 3 = 0.5555…
    close(perUser(3, RECO, RELEVANT, 'map'), [0, 1, 0.55555556, 1]);
  });

  it('averages over all test users, zeros included', () => {
    const acc = new MetricsAccumulator(3, noPopularity);
    for (const u of [1, 2, 3, 4]) acc.add(RECO[u] as number[], new Set(RELEVANT[u]));
    close([acc.result().map], [(0 + 1 + 5 / 9 + 1) / 4]);
    assert.equal(acc.userCount, 4);
  });
});

describe('NDCG@k (rectools NDCG, log_base=2, divide_by_achievable=False)', () => {
  it('the docstring example', () => {
    close(perUser(1, RECO, RELEVANT, 'ndcg'), [0, 1, 1, 1]);
    close(perUser(3, RECO, RELEVANT, 'ndcg'), [0, 0.46927873, 0.70391809, 1]);
  });

  it('the ideal DCG is that of k hits, whatever the user has: 1 + 1/log2(3) + 1/2 at k=3', () => {
    close([idealDcg(3)], [1 + 1 / Math.log2(3) + 0.5]);
    // user 2 has one relevant item, hit at rank 1: DCG 1, still divided by the k=3 ideal.
    close(perUser(3, { 2: [1, 2] }, { 2: [1] }, 'ndcg'), [1 / idealDcg(3)]);
  });
});

describe('MRR@k (rectools MRR)', () => {
  const reco = { 1: [7, 8], 2: [1, 2], 3: [2, 1, 3, 4], 4: [7, 8, 3] };
  it('the docstring example', () => {
    close(perUser(1, reco, RELEVANT, 'mrr'), [0, 1, 0, 0]);
    close(perUser(3, reco, RELEVANT, 'mrr'), [0, 1, 0.5, 1 / 3]);
  });
});

describe('Precision@k, Recall@k, HitRate@k (rectools Precision, Recall, HitRate)', () => {
  // k = 3. user 1: no hit. user 2: [1, 2] of {1} → 1 hit. user 3: [1, 2, 3] of {1, 3, 4} → 2.
  // user 4: [1, 2, 3] of {1, 2, 3} → 3.
  it('precision divides by k even for a short list (user 2 got 2 items)', () => {
    close(perUser(3, RECO, RELEVANT, 'precision'), [0, 1 / 3, 2 / 3, 1]);
  });
  it('recall divides by the number of relevant items', () => {
    close(perUser(3, RECO, RELEVANT, 'recall'), [0, 1, 2 / 3, 1]);
  });
  it('hit rate is 1 with any hit in the top k', () => {
    close(perUser(3, RECO, RELEVANT, 'hitRate'), [0, 1, 1, 1]);
    // user 3's ranks beyond k do not count: at k=1 only item 1, a hit; user 1 never.
    close(perUser(1, { 1: [7, 1], 3: [2, 1] }, { 1: [1], 3: [1] }, 'hitRate'), [0, 0]);
  });
});

describe('Coverage@k (rectools CatalogCoverage, normalize=False)', () => {
  it('counts distinct items recommended within the top k', () => {
    const acc = new MetricsAccumulator(2, noPopularity);
    acc.add([1, 2, 9], new Set([5])); // 9 is beyond k
    acc.add([2, 3], new Set([5]));
    acc.add([], new Set([5]));
    assert.equal(acc.result().coverage, 3);
  });
});

describe('Novelty@k (rectools MeanInvUserFreq)', () => {
  // prev_interactions: user 1 → items 1, 2; user 2 → 1; user 3 → 1. So 3 users; item 1 had 3,
  // item 2 had 1, item 3 none (counted as 1).
  const counts = new Map([
    [1, 3],
    [2, 1],
  ]);
  const popularity: Popularity = { nUsers: 3, usersOf: (item) => counts.get(item) ?? 0 };
  const reco = { 1: [3], 2: [2, 3], 3: [1, 2] };
  const anyRelevant = { 1: [99], 2: [99], 3: [99] };
  it('the docstring example', () => {
    close(perUser(1, reco, anyRelevant, 'novelty', popularity), [1.5849625, 1.5849625, 0]);
    close(perUser(3, reco, anyRelevant, 'novelty', popularity), [1.5849625, 1.5849625, 0.79248125]);
  });
  it('averages over users that got recommendations only', () => {
    const acc = new MetricsAccumulator(3, popularity);
    acc.add([1], new Set([99])); // novelty 0
    acc.add([3], new Set([99])); // novelty log2(3)
    acc.add([], new Set([99])); // no recommendations: not part of the novelty mean
    close([acc.result().novelty], [Math.log2(3) / 2]);
  });
});

describe('PopularFill', () => {
  it('is the share of recommended items the model filled from popular', () => {
    const acc = new MetricsAccumulator(4, noPopularity);
    acc.add([1, 2, 3, 4], new Set([1]), 1);
    acc.add([1, 2, 3, 4], new Set([1]), 0);
    acc.add([5, 6], new Set([1]), 2);
    close([acc.result().popularFill], [3 / 10]);
  });
});

describe('metric guards and percentiles', () => {
  it('refuses a user without relevant items and a k below 1', () => {
    assert.throws(() => new MetricsAccumulator(3, noPopularity).add([1], new Set()), /at least one relevant/);
    assert.throws(() => new MetricsAccumulator(0, noPopularity), /positive integer/);
  });
  it('reports zeros for no users rather than NaN', () => {
    assert.deepEqual(Object.values(new MetricsAccumulator(3, noPopularity).result()), [0, 0, 0, 0, 0, 0, 0, 0, 0]);
  });
  it('takes nearest-rank percentiles', () => {
    const sorted = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(percentile(sorted, 50), 50);
    assert.equal(percentile(sorted, 99), 99);
    assert.equal(percentile(Float64Array.of(7), 99), 7);
    assert.equal(percentile(new Float64Array(0), 50), 0);
  });
});
