/**
 * `popular`: the items most interacted with over the dataset's last `windowDays` days.
 *
 * The window ends at the dataset's newest timestamp, not at "now", so the model is a pure
 * function of the data. The whole catalogue is ranked once at training time: items by
 * interactions inside the window, then the rest by all-time interactions (so an empty or thin
 * window falls back to all-time popularity), ties by lower item id. A request then only walks
 * that list skipping what the user has seen, which is what lets it always return k items.
 */
import type { Interactions } from '../data/interactions';
import { daysToSeconds } from '../data/schemas';
import { knownItems, rowHasItem } from './history';
import type { StageSpan, Stages } from './stages';
import type { BasketRecommender, Recommendation } from './types';
import { UNVERSIONED } from './refs';

export interface PopularParams {
  windowDays: number;
}

export interface PopularState {
  /** Dense item indices, best first, every item exactly once. */
  ranked: Int32Array;
  /** How many of `ranked` (the head) had interactions inside the window. */
  windowItems: number;
}

export function trainPopular(data: Interactions, params: PopularParams): PopularState {
  if (!(params.windowDays > 0)) throw new RangeError(`popular window must be positive, got ${params.windowDays} days`);
  const windowStart = data.maxTimestamp() - daysToSeconds(params.windowDays);
  const inWindow = new Float64Array(data.nItems);
  const allTime = new Float64Array(data.nItems);
  for (let p = 0; p < data.nnz; p++) {
    const i = data.itemIdx[p] as number;
    allTime[i] = (allTime[i] as number) + 1;
    // Strictly after the start: a 14-day window over daily dates covers exactly 14 dates.
    if ((data.timestamps[p] as number) > windowStart) inWindow[i] = (inWindow[i] as number) + 1;
  }
  const ranked = new Int32Array(data.nItems);
  let windowItems = 0;
  for (let i = 0; i < data.nItems; i++) {
    ranked[i] = i;
    if ((inWindow[i] as number) > 0) windowItems++;
  }
  ranked.sort(
    (a, b) =>
      (inWindow[b] as number) - (inWindow[a] as number) || (allTime[b] as number) - (allTime[a] as number) || a - b,
  );
  return { ranked, windowItems };
}

export class PopularRecommender implements BasketRecommender {
  readonly name: string;
  private readonly data: Interactions;
  readonly state: PopularState;

  // Per-request state lives on the instance so the stage callbacks below can be created once
  // instead of as fresh closures per request (the server is single-threaded and stages run
  // synchronously, so requests never interleave).
  private user = -1;
  private k = 0;
  private rowStart = 0;
  private rowEnd = 0;
  private result: number[] = [];

  constructor(
    name: string,
    data: Interactions,
    state: PopularState,
    readonly version: string = UNVERSIONED,
  ) {
    if (state.ranked.length !== data.nItems) throw new Error(`popular ranking has ${state.ranked.length} items, dataset ${data.nItems}`);
    this.name = name;
    this.data = data;
    this.state = state;
  }

  recommend(userId: number, k: number, stages: Stages): Recommendation {
    this.user = this.data.users.indexOf(userId);
    this.k = k;
    this.result = [];
    stages.run('reco.load_history', this.loadHistoryStage);
    stages.run('reco.score', this.scoreStage);
    stages.run('reco.filter_seen', this.filterSeenStage);
    const items = this.result;
    this.result = [];
    return { items, coldStart: this.user < 0, fallback: 0 };
  }

  /** For a basket of external item ids (see BasketRecommender). */
  recommendItems(itemIds: readonly number[], k: number, _stages: Stages): Recommendation {
    const known = knownItems(this.data, itemIds);
    return this.recommendHistory(known, k, known.length === 0);
  }

  /**
   * For a basket of items instead of a user (`history`: dense item indices, ascending): the
   * most popular items not in it. `coldStart` says whether this answer stands in for a model
   * that knew none of the basket's items.
   */
  recommendHistory(history: Int32Array, k: number, coldStart = false): Recommendation {
    const out: number[] = [];
    if (history.length === 0) this.fill(out, k, 0, 0, neverSkip);
    else this.fill(out, k, 0, 0, (item) => rowHasItem(history, 0, history.length, item));
    return { items: out, coldStart, fallback: 0 };
  }

  /**
   * Appends to `out` (external ids) up to `k` total, best first, skipping the items in the
   * user's row [rowStart, rowEnd) and any for which `skip(index)` is true. For kNN's fill.
   */
  fill(out: number[], k: number, rowStart: number, rowEnd: number, skip: (itemIndex: number) => boolean): void {
    const ranked = this.state.ranked;
    const row = this.data.itemIdx;
    const ids = this.data.items.ids;
    for (let r = 0; r < ranked.length && out.length < k; r++) {
      const item = ranked[r] as number;
      if (rowHasItem(row, rowStart, rowEnd, item) || skip(item)) continue;
      out.push(ids[item] as number);
    }
  }

  private readonly loadHistoryStage = (span: StageSpan): void => {
    const u = this.user;
    this.rowStart = u < 0 ? 0 : (this.data.userPtr[u] as number);
    this.rowEnd = u < 0 ? 0 : (this.data.userPtr[u + 1] as number);
    span.setAttributes({ 'reco.history_length': this.rowEnd - this.rowStart, 'reco.cold_start': u < 0 });
  };

  // Nothing to compute per request: the ranking was computed at training time.
  private readonly scoreStage = (span: StageSpan): void => {
    span.setAttributes({ 'reco.model': this.name, 'reco.candidates': this.state.ranked.length });
  };

  private readonly filterSeenStage = (span: StageSpan): void => {
    this.fill(this.result, this.k, this.rowStart, this.rowEnd, neverSkip);
    span.setAttributes({ 'reco.results': this.result.length });
  };
}

const neverSkip = (): boolean => false;
