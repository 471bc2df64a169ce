/**
 * Item-kNN recommendations from a precomputed neighbour graph, as implicit's
 * ItemItemRecommender.recommend does it: score = (user's row of the interaction matrix) ·
 * similarity, i.e. score(j) = Σ_{i in history} x(u,i) · sim(i,j) with x the user's *raw*
 * interaction weights (rating, or Kion weight) — implicit is given the unweighted user_items
 * matrix at recommend time, the weighting only shapes the similarities.
 *
 * Differences from implicit, both toward the service's contract: seen items are removed
 * outright (implicit zeroes their score, so they can resurface when candidates run short),
 * and a short list is topped up from `popular` (reported as `fallback`).
 *
 * Per request the cost is O(history × K) for scoring plus O(candidates · log k) to select,
 * over scratch buffers allocated once per model: a dense score array, an epoch stamp per
 * item that says "scored in this request" (so nothing is cleared between requests) and the
 * list of items touched.
 */
import type { Interactions } from '../data/interactions';
import { knownItems, rowHasItem } from './history';
import type { NeighbourGraph } from './similarity';
import type { PopularRecommender } from './popular';
import type { StageSpan, Stages } from './stages';
import { untracedStages } from './stages';
import { TopK } from './topk';
import type { BasketRecommender, Recommendation } from './types';
import { UNVERSIONED } from './refs';

export class ItemKnnRecommender implements BasketRecommender {
  readonly name: string;
  readonly graph: NeighbourGraph;
  readonly data: Interactions;
  readonly popular: PopularRecommender;

  private readonly scores: Float64Array;
  private readonly stamp: Uint32Array;
  private readonly candidates: Int32Array;
  private epoch = 0;
  private top: TopK;
  private picked: Int32Array;
  private pickedScores: Float64Array;

  // Per-request state on the instance, so the stage callbacks are created once, not per
  // request: the server is single-threaded and stages run synchronously.
  private user = 0;
  private k = 0;
  private rowStart = 0;
  private rowEnd = 0;
  private nCandidates = 0;
  private result: number[] = [];
  // The rows scored: the users' CSR arrays, or a basket (recommendHistory) with weight 1.
  private rowItems: Int32Array;
  private rowWeights: Float32Array;
  private basket = false;

  constructor(
    name: string,
    data: Interactions,
    graph: NeighbourGraph,
    popular: PopularRecommender,
    readonly version: string = UNVERSIONED,
  ) {
    if (graph.nItems !== data.nItems || graph.ptr.length !== data.nItems + 1) {
      throw new Error(`neighbour graph has ${graph.nItems} items, dataset ${data.nItems}`);
    }
    this.name = name;
    this.data = data;
    this.graph = graph;
    this.popular = popular;
    this.scores = new Float64Array(data.nItems);
    this.stamp = new Uint32Array(data.nItems);
    this.candidates = new Int32Array(data.nItems);
    this.top = new TopK(16);
    this.picked = new Int32Array(16);
    this.pickedScores = new Float64Array(16);
    this.rowItems = data.itemIdx;
    this.rowWeights = data.weights;
  }

  /**
   * recommend() plus the kNN score of each item (NaN for items filled from popular), for
   * tests and offline inspection; the request path does not pay for building this.
   */
  recommendWithScores(userId: number, k: number): Recommendation & { scores: number[] } {
    const rec = this.recommend(userId, k, untracedStages);
    const modelItems = rec.coldStart ? 0 : rec.items.length - rec.fallback;
    const scores = rec.items.map((_, r) => (r < modelItems ? (this.pickedScores[r] as number) : NaN));
    return { ...rec, scores };
  }

  recommend(userId: number, k: number, stages: Stages): Recommendation {
    const u = this.data.users.indexOf(userId);
    if (u < 0) return this.popular.recommend(userId, k, stages);
    this.user = u;
    this.k = k;
    this.result = [];
    this.rowItems = this.data.itemIdx;
    this.rowWeights = this.data.weights;
    this.basket = false;
    this.growScratch(k);
    this.nextEpoch();
    stages.run('reco.load_history', this.loadHistoryStage);
    return this.scoreAndPick(stages);
  }

  /** For a basket of external item ids (see BasketRecommender). */
  recommendItems(itemIds: readonly number[], k: number, stages: Stages): Recommendation {
    return this.recommendHistory(knownItems(this.data, itemIds), k, stages);
  }

  /**
   * For a basket of items instead of a known user (`history`: dense item indices, ascending,
   * distinct), each with weight 1: items similar to the basket, none of the basket's. A
   * basket with no known item gets popular (coldStart).
   */
  recommendHistory(history: Int32Array, k: number, stages: Stages): Recommendation {
    if (history.length === 0) return this.popular.recommendHistory(history, k, true);
    this.k = k;
    this.result = [];
    this.rowItems = history;
    this.rowWeights = new Float32Array(history.length).fill(1);
    this.rowStart = 0;
    this.rowEnd = history.length;
    this.basket = true;
    this.growScratch(k);
    this.nextEpoch();
    return this.scoreAndPick(stages);
  }

  private growScratch(k: number): void {
    if (k > this.picked.length) {
      this.top = new TopK(k);
      this.picked = new Int32Array(k);
      this.pickedScores = new Float64Array(k);
    }
  }

  private scoreAndPick(stages: Stages): Recommendation {
    stages.run('reco.score', this.scoreStage);
    stages.run('reco.filter_seen', this.filterSeenStage);
    const modelItems = this.result.length;
    if (modelItems < this.k) stages.run('reco.fill_popular', this.fillPopularStage);
    const items = this.result;
    this.result = [];
    return { items, coldStart: false, fallback: items.length - modelItems };
  }

  private nextEpoch(): void {
    if (this.epoch === 0xffffffff) {
      this.stamp.fill(0);
      this.epoch = 0;
    }
    this.epoch++;
  }

  private readonly loadHistoryStage = (span: StageSpan): void => {
    this.rowStart = this.data.userPtr[this.user] as number;
    this.rowEnd = this.data.userPtr[this.user + 1] as number;
    span.setAttributes({ 'reco.history_length': this.rowEnd - this.rowStart, 'reco.cold_start': false });
  };

  private readonly scoreStage = (span: StageSpan): void => {
    const { ptr, idx, sim } = this.graph;
    const rowItems = this.rowItems;
    const rowWeights = this.rowWeights;
    const scores = this.scores;
    const stamp = this.stamp;
    const candidates = this.candidates;
    const epoch = this.epoch;
    let n = 0;
    let visited = 0;
    for (let p = this.rowStart; p < this.rowEnd; p++) {
      const i = rowItems[p] as number;
      const w = rowWeights[p] as number;
      const end = ptr[i + 1] as number;
      const start = ptr[i] as number;
      visited += end - start;
      for (let q = start; q < end; q++) {
        const j = idx[q] as number;
        const s = (sim[q] as number) * w;
        if (stamp[j] !== epoch) {
          stamp[j] = epoch;
          scores[j] = s;
          candidates[n++] = j;
        } else {
          scores[j] = (scores[j] as number) + s;
        }
      }
    }
    this.nCandidates = n;
    span.setAttributes({
      'reco.model': this.name,
      'reco.history_length': this.rowEnd - this.rowStart,
      'reco.neighbours_visited': visited,
      'reco.candidates': n,
    });
  };

  private readonly filterSeenStage = (span: StageSpan): void => {
    const scores = this.scores;
    const stamp = this.stamp;
    const epoch = this.epoch;
    const rowItems = this.rowItems;
    // NaN marks "seen": a scored item the user already has. Unscored seen items are never
    // candidates in the first place.
    let seen = 0;
    for (let p = this.rowStart; p < this.rowEnd; p++) {
      const i = rowItems[p] as number;
      if (stamp[i] === epoch) {
        scores[i] = NaN;
        seen++;
      }
    }
    const top = this.top;
    top.reset(this.k);
    const candidates = this.candidates;
    for (let c = 0; c < this.nCandidates; c++) {
      const j = candidates[c] as number;
      const s = scores[j] as number;
      if (s === s) top.push(j, s);
    }
    const n = top.drainSorted(this.picked, this.pickedScores);
    const ids = this.data.items.ids;
    for (let r = 0; r < n; r++) this.result.push(ids[this.picked[r] as number] as number);
    span.setAttributes({ 'reco.seen_filtered': seen, 'reco.results': n });
  };

  /**
   * Only runs when fewer than k items were picked, i.e. every unseen candidate was picked:
   * so "scored in this request" is exactly "already in the result or seen".
   */
  private readonly fillPopularStage = (span: StageSpan): void => {
    const before = this.result.length;
    if (this.basket) this.popular.fill(this.result, this.k, 0, 0, this.scoredOrInBasket);
    else this.popular.fill(this.result, this.k, this.rowStart, this.rowEnd, this.scoredThisRequest);
    span.setAttributes({ 'reco.fallback': this.result.length - before });
  };

  private readonly scoredThisRequest = (item: number): boolean => this.stamp[item] === this.epoch;
  private readonly scoredOrInBasket = (item: number): boolean =>
    this.stamp[item] === this.epoch || rowHasItem(this.rowItems, 0, this.rowItems.length, item);
}
