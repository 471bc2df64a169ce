/**
 * Item-kNN weightings checked against similarities worked out by hand from implicit's
 * formulas (implicit/nearest_neighbours.py: normalize, tfidf_weight, bm25_weight, and
 * all_pairs_knn's Wᵀ·W with the item itself kept among its K neighbours).
 *
 * The data: 4 users × 5 items (external ids), raw weights x(u, i):
 *
 *            A=100  B=101  C=102  D=103  E=104    deg(u)
 *   u10        1      2      .      .      .        2
 *   u11        1      .      1      .      .        2
 *   u12        .      1      1      1      .        3
 *   u13        2      .      .      3      1        3
 *
 * N = 5 items. idf(u) = ln N − ln(1 + deg u):
 *   u10, u11: ln 5 − ln 3 = ln(5/3) = 0.510826
 *   u12, u13: ln 5 − ln 4 = ln(5/4) = 0.223144
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Interactions } from '../../src/data/interactions';
import { InteractionsBuilder } from '../../src/data/interactions';
import { ItemKnnRecommender } from '../../src/models/knn';
import { PopularRecommender, trainPopular } from '../../src/models/popular';
import type { NeighbourGraph } from '../../src/models/similarity';
import { allPairsKnn } from '../../src/models/similarity';
import type { Weighting } from '../../src/models/weighting';
import { weightedMatrix } from '../../src/models/weighting';

const A = 100;
const B = 101;
const C = 102;
const D = 103;
const E = 104;
const TS = 1_600_000_000;

function tinyData(): Interactions {
  const b = new InteractionsBuilder();
  const rows: [number, number, number][] = [
    [10, A, 1], [10, B, 2],
    [11, A, 1], [11, C, 1],
    [12, B, 1], [12, C, 1], [12, D, 1],
    [13, A, 2], [13, D, 3], [13, E, 1],
  ]; // prettier-ignore
  // Deliberately shuffled arrival order: the store must not depend on it.
  for (const [u, i, x] of rows.reverse()) b.append(u, i, x, TS);
  return b.build().interactions;
}

/** Neighbour list of an item as [external id, sim] pairs, in stored (best-first) order. */
function neighbours(data: Interactions, graph: NeighbourGraph, item: number): [number, number][] {
  const i = data.items.indexOf(item);
  const out: [number, number][] = [];
  for (let p = graph.ptr[i] as number; p < (graph.ptr[i + 1] as number); p++) {
    out.push([data.items.ids[graph.idx[p] as number] as number, graph.sim[p] as number]);
  }
  return out;
}

function assertNeighbours(actual: [number, number][], expected: [number, number][], label: string): void {
  assert.deepEqual(
    actual.map(([j]) => j),
    expected.map(([j]) => j),
    `${label}: neighbour order`,
  );
  for (let r = 0; r < expected.length; r++) {
    const [j, want] = expected[r] as [number, number];
    const got = (actual[r] as [number, number])[1];
    assert.ok(Math.abs(got - want) < 1e-6, `${label}: sim to ${j} is ${got}, expected ${want}`);
  }
}

function train(data: Interactions, weighting: Weighting, k: number): NeighbourGraph {
  return allPairsKnn(weightedMatrix(data, weighting, { k1: 1.2, b: 0.75 }), k);
}

function model(data: Interactions, graph: NeighbourGraph): ItemKnnRecommender {
  const popular = new PopularRecommender('popular', data, trainPopular(data, { windowDays: 14 }));
  return new ItemKnnRecommender('knn_test', data, graph, popular);
}

function assertScores(rec: { items: number[]; scores: number[] }, expected: [number, number][], label: string): void {
  assert.deepEqual(rec.items.slice(0, expected.length), expected.map(([j]) => j), `${label}: order`);
  expected.forEach(([j, want], r) => {
    const got = rec.scores[r] as number;
    assert.ok(Math.abs(got - want) < 1e-6, `${label}: score of ${j} is ${got}, expected ${want}`);
  });
}

describe('cosine item-kNN (implicit CosineRecommender)', () => {
  /*
   * W = each item column divided by its L2 norm:
   *   ‖A‖ = √(1² + 1² + 2²) = √6    ‖B‖ = √(2² + 1²) = √5    ‖C‖ = √(1 + 1) = √2
   *   ‖D‖ = √(1² + 3²) = √10         ‖E‖ = 1
   * sim(i, j) = Σ_u W(u,i)·W(u,j); every item has sim(i, i) = 1.
   *   A·E = u13: (2/√6)(1/1)        = 2/√6       = 0.816497
   *   A·D = u13: (2/√6)(3/√10)      = 6/√60      = 0.774597
   *   A·B = u10: (1/√6)(2/√5)       = 2/√30      = 0.365148
   *   A·C = u11: (1/√6)(1/√2)       = 1/√12      = 0.288675
   *   B·C = u12: (1/√5)(1/√2)       = 1/√10      = 0.316228
   *   B·D = u12: (1/√5)(1/√10)      = 1/√50      = 0.141421
   *   C·D = u12: (1/√2)(1/√10)      = 1/√20      = 0.223607
   *   D·E = u13: (3/√10)(1/1)       = 3/√10      = 0.948683
   *   (B·E and C·E never co-occur: not neighbours at all.)
   */
  const data = tinyData();

  it('keeps every co-occurring item with K = 5, self first, sims as worked out', () => {
    const g = train(data, 'cosine', 5);
    assertNeighbours(neighbours(data, g, A), [[A, 1], [E, 0.816497], [D, 0.774597], [B, 0.365148], [C, 0.288675]], 'A');
    assertNeighbours(neighbours(data, g, B), [[B, 1], [A, 0.365148], [C, 0.316228], [D, 0.141421]], 'B');
    assertNeighbours(neighbours(data, g, C), [[C, 1], [B, 0.316228], [A, 0.288675], [D, 0.223607]], 'C');
    assertNeighbours(neighbours(data, g, D), [[D, 1], [E, 0.948683], [A, 0.774597], [C, 0.223607], [B, 0.141421]], 'D');
    assertNeighbours(neighbours(data, g, E), [[E, 1], [D, 0.948683], [A, 0.816497]], 'E');
  });

  it('with K = 2 the item itself takes one of the two slots (as in implicit)', () => {
    const g = train(data, 'cosine', 2);
    assertNeighbours(neighbours(data, g, A), [[A, 1], [E, 0.816497]], 'A');
    assertNeighbours(neighbours(data, g, C), [[C, 1], [B, 0.316228]], 'C');
  });

  it('scores = user row (raw weights) · sim, seen items removed', () => {
    /*
     * u11 has A (x=1), C (x=1), K = 5:
     *   D = 1·A·D + 1·C·D = 0.774597 + 0.223607 = 0.998204
     *   E = 1·A·E          = 0.816497
     *   B = 1·A·B + 1·C·B = 0.365148 + 0.316228 = 0.681376
     * u10 has A (x=1), B (x=2):
     *   D = 1·0.774597 + 2·0.141421 = 1.057439
     *   C = 1·0.288675 + 2·0.316228 = 0.921131
     *   E = 1·0.816497              = 0.816497
     */
    const m = model(data, train(data, 'cosine', 5));
    assertScores(m.recommendWithScores(11, 10), [[D, 0.998204], [E, 0.816497], [B, 0.681376]], 'u11');
    assertScores(m.recommendWithScores(10, 10), [[D, 1.057439], [C, 0.921131], [E, 0.816497]], 'u10');
  });

  it('tops up from popular when K leaves fewer than k candidates', () => {
    /*
     * K = 2: A → {A, E}, B → {B, A}. u10 (A, B) can only reach E (0.816497); A and B are seen.
     * popular ranks by count: A (3), then B, C, D (2 each, lower id first), E (1);
     * skipping seen A, B and already-picked E gives C, D.
     */
    const m = model(data, train(data, 'cosine', 2));
    const rec = m.recommendWithScores(10, 10);
    assert.deepEqual(rec.items, [E, C, D]);
    assert.equal(rec.fallback, 2);
    assert.equal(rec.coldStart, false);
    assert.ok(Math.abs((rec.scores[0] as number) - 0.816497) < 1e-6);
  });
});

describe('TF-IDF item-kNN (implicit TFIDFRecommender)', () => {
  /*
   * t(u,i) = √x · idf(u), then each item column divided by its L2 norm:
   *   A: u10 √1·0.510826 = 0.510826, u11 0.510826, u13 √2·0.223144 = 0.315573
   *      ‖A‖ = √(0.260943 + 0.260943 + 0.099586) = √0.621472 = 0.788335
   *      W: u10 = u11 = 0.510826/0.788335 = 0.647981, u13 = 0.315573/0.788335 = 0.400303
   *   B: u10 √2·0.510826 = 0.722417, u12 0.223144
   *      ‖B‖ = √(0.521886 + 0.049793) = √0.571679 = 0.756094 → W: u10 0.955458, u12 0.295127
   *   C: u11 0.510826, u12 0.223144
   *      ‖C‖ = √(0.260943 + 0.049793) = √0.310736 = 0.557437 → W: u11 0.916383, u12 0.400303
   *   D: u12 0.223144, u13 √3·0.223144 = 0.386496
   *      ‖D‖ = √(0.049793 + 0.149379) = √0.199172 = 0.446287 → W: u12 0.5, u13 0.866025
   *   E: u13 0.223144 → ‖E‖ = 0.223144 → W: u13 1
   * sims (self = 1 after normalisation):
   *   A·B = u10: 0.647981·0.955458 = 0.619118
   *   A·C = u11: 0.647981·0.916383 = 0.593798
   *   A·E = u13: 0.400303·1        = 0.400303
   *   A·D = u13: 0.400303·0.866025 = 0.346672
   *   B·D = u12: 0.295127·0.5      = 0.147563
   *   B·C = u12: 0.295127·0.400303 = 0.118140
   *   C·D = u12: 0.400303·0.5      = 0.200151
   *   D·E = u13: 0.866025·1        = 0.866025
   */
  const data = tinyData();

  it('neighbour sims match the hand computation', () => {
    const g = train(data, 'tfidf', 5);
    assertNeighbours(neighbours(data, g, A), [[A, 1], [B, 0.619118], [C, 0.593798], [E, 0.400303], [D, 0.346672]], 'A');
    assertNeighbours(neighbours(data, g, B), [[B, 1], [A, 0.619118], [D, 0.147563], [C, 0.11814]], 'B');
    assertNeighbours(neighbours(data, g, C), [[C, 1], [A, 0.593798], [D, 0.200151], [B, 0.11814]], 'C');
    assertNeighbours(neighbours(data, g, D), [[D, 1], [E, 0.866025], [A, 0.346672], [C, 0.200151], [B, 0.147563]], 'D');
    assertNeighbours(neighbours(data, g, E), [[E, 1], [D, 0.866025], [A, 0.400303]], 'E');
  });

  it('recommend scores and order', () => {
    /*
     * u11 (A, C):  B = 0.619118 + 0.118140 = 0.737258
     *              D = 0.346672 + 0.200151 = 0.546823   (exact: 0.546824)
     *              E = 0.400303
     * u10 (A ×1, B ×2): C = 0.593798 + 2·0.118140 = 0.830078
     *                   D = 0.346672 + 2·0.147563 = 0.641798   (exact: 0.641799)
     *                   E = 0.400303
     */
    const m = model(data, train(data, 'tfidf', 5));
    assertScores(m.recommendWithScores(11, 10), [[B, 0.737258], [D, 0.546824], [E, 0.400303]], 'u11');
    assertScores(m.recommendWithScores(10, 10), [[C, 0.830078], [D, 0.641799], [E, 0.400303]], 'u10');
  });
});

describe('BM25 item-kNN (implicit BM25Recommender, K1 = 1.2, B = 0.75)', () => {
  /*
   * Item sums of x: A 4, B 3, C 2, D 4, E 1; mean = 14/5 = 2.8.
   * norm(i) = 0.25 + 0.75·sum/2.8: A = D = 1.321429, B 1.053571, C 0.785714, E 0.517857.
   * W(u,i) = x·2.2 / (1.2·norm(i) + x) · idf(u):
   *   u10 A: 1·2.2/(1.585714 + 1) = 0.850829 · 0.510826 = 0.434625
   *   u10 B: 2·2.2/(1.264286 + 2) = 1.347921 · 0.510826 = 0.688553
   *   u11 A:                         0.850829 · 0.510826 = 0.434625
   *   u11 C: 1·2.2/(0.942857 + 1) = 1.132353 · 0.510826 = 0.578435
   *   u12 B: 1·2.2/(1.264286 + 1) = 0.971609 · 0.223144 = 0.216808
   *   u12 C: 1·2.2/(0.942857 + 1) = 1.132353 · 0.223144 = 0.252677
   *   u12 D: 1·2.2/(1.585714 + 1) = 0.850829 · 0.223144 = 0.189857
   *   u13 A: 2·2.2/(1.585714 + 2) = 1.227092 · 0.223144 = 0.273818
   *   u13 D: 3·2.2/(1.585714 + 3) = 1.439252 · 0.223144 = 0.321160
   *   u13 E: 1·2.2/(0.621429 + 1) = 1.356828 · 0.223144 = 0.302767
   * sims (no normalisation: self-similarity is not 1 and need not be the largest):
   *   A·A = 0.434625² + 0.434625² + 0.273818² = 0.188899 + 0.188899 + 0.074976 = 0.452774
   *   B·B = 0.688553² + 0.216808²             = 0.474105 + 0.047006            = 0.521111
   *   C·C = 0.578435² + 0.252677²             = 0.334587 + 0.063846            = 0.398433
   *   D·D = 0.189857² + 0.321160²             = 0.036046 + 0.103144            = 0.139189
   *   E·E = 0.302767²                                                          = 0.091668
   *   A·B = u10: 0.434625·0.688553 = 0.299262
   *   A·C = u11: 0.434625·0.578435 = 0.251402
   *   A·D = u13: 0.273818·0.321160 = 0.087939
   *   A·E = u13: 0.273818·0.302767 = 0.082903
   *   B·C = u12: 0.216808·0.252677 = 0.054783
   *   B·D = u12: 0.216808·0.189857 = 0.041163
   *   C·D = u12: 0.252677·0.189857 = 0.047973
   *   D·E = u13: 0.321160·0.302767 = 0.097237   (> E·E = 0.091668: E's best neighbour is D)
   */
  const data = tinyData();

  it('neighbour sims match the hand computation', () => {
    const g = train(data, 'bm25', 5);
    assertNeighbours(neighbours(data, g, A), [[A, 0.452774], [B, 0.299262], [C, 0.251402], [D, 0.087939], [E, 0.082903]], 'A');
    assertNeighbours(neighbours(data, g, B), [[B, 0.521111], [A, 0.299262], [C, 0.054783], [D, 0.041163]], 'B');
    assertNeighbours(neighbours(data, g, C), [[C, 0.398433], [A, 0.251402], [B, 0.054783], [D, 0.047973]], 'C');
    assertNeighbours(neighbours(data, g, D), [[D, 0.139189], [E, 0.097237], [A, 0.087939], [C, 0.047973], [B, 0.041163]], 'D');
    assertNeighbours(neighbours(data, g, E), [[D, 0.097237], [E, 0.091668], [A, 0.082903]], 'E');
  });

  it('with K = 2, E keeps D and itself (self still takes one of the K), dropping A', () => {
    const g = train(data, 'bm25', 2);
    assertNeighbours(neighbours(data, g, E), [[D, 0.097237], [E, 0.091668]], 'E');
  });

  it('recommend scores and order', () => {
    /*
     * u11 (A ×1, C ×1): B = 0.299262 + 0.054783 = 0.354045
     *                   D = 0.087939 + 0.047973 = 0.135912
     *                   E = 0.082903
     * u10 (A ×1, B ×2): C = 0.251402 + 2·0.054783 = 0.360968   (exact: 0.360967)
     *                   D = 0.087939 + 2·0.041163 = 0.170265   (exact: 0.170264)
     *                   E = 0.082903
     */
    const m = model(data, train(data, 'bm25', 5));
    assertScores(m.recommendWithScores(11, 10), [[B, 0.354045], [D, 0.135912], [E, 0.082903]], 'u11');
    assertScores(m.recommendWithScores(10, 10), [[C, 0.360967], [D, 0.170264], [E, 0.082903]], 'u10');
  });
});

describe('kNN request path', () => {
  const data = tinyData();

  it('unknown users get popular with coldStart', () => {
    const m = model(data, train(data, 'bm25', 5));
    const rec = m.recommendWithScores(999, 3);
    assert.deepEqual(rec.items, [A, B, C]);
    assert.equal(rec.coldStart, true);
    assert.equal(rec.fallback, 0);
  });

  it('repeated requests give identical answers (scratch buffers are reset correctly)', () => {
    const m = model(data, train(data, 'cosine', 5));
    const first = [10, 11, 12, 13].map((u) => m.recommendWithScores(u, 10));
    const again = [13, 12, 11, 10].map((u) => m.recommendWithScores(u, 10)).reverse();
    assert.deepEqual(again, first);
  });

  it('keeps zero-sum neighbours, as implicit does, when a weight is zero', () => {
    // u1 has 3 of 4 items: idf = ln 4 − ln 4 = 0, so its TF-IDF weights are all 0 and the
    // pairs it alone connects (X–Y here) sum to exactly 0 but are still neighbours.
    const b = new InteractionsBuilder();
    for (const [u, i] of [[1, 1], [1, 2], [1, 3], [2, 1], [3, 4], [4, 4], [4, 1]] as [number, number][]) b.append(u, i, 1, TS);
    const tiny = b.build().interactions;
    const g = train(tiny, 'tfidf', 4);
    const two = neighbours(tiny, g, 2);
    assert.deepEqual(two.map(([j]) => j).sort(), [1, 2, 3]);
    assert.ok(two.every(([, s]) => s === 0));
  });
});
