/**
 * Offline metrics at K, with the definitions and default parameters of the `rectools`
 * library (rectools 0.19, rectools/metrics/*.py), so numbers compare with the course reports:
 *
 * For a user u with relevant (test) items R_u, recommendations r_1..r_k and rel(i) = [r_i ∈ R_u]:
 *   Precision@k  = TP / k                      (k even when fewer than k were recommended)
 *   Recall@k     = TP / |R_u|
 *   HitRate@k    = [TP > 0]
 *   MAP@k        = Σ_{i ≤ k} rel(i) · (TP@i / i) / |R_u|   (divide_by_k=False)
 *   NDCG@k       = Σ_{i ≤ k} rel(i) / log2(i + 1)  /  Σ_{i ≤ k} 1 / log2(i + 1)
 *                  (log_base=2, divide_by_achievable=False: the ideal DCG is that of k hits)
 *   MRR@k        = 1 / (rank of the first relevant item ≤ k), 0 without one
 * each averaged over the test users (all of them: a user with no hit scores 0). Then
 *   Coverage@k   = number of distinct items recommended to anyone (CatalogCoverage,
 *                  normalize=False)
 *   Novelty@k    = MeanInvUserFreq: per user the mean over its recommended items of
 *                  −log2(users(i) / n_users), users(i) = train users who interacted with i
 *                  (an item nobody had counts as 1 user), n_users = users in train; averaged
 *                  over the users with at least one recommendation.
 * Not from rectools:
 *   PopularFill  = recommended items filled from `popular` because the model had fewer than
 *                  k of its own, over all recommended items (0 for `popular` itself).
 */

export interface Metrics {
  map: number;
  ndcg: number;
  precision: number;
  recall: number;
  hitRate: number;
  mrr: number;
  coverage: number;
  novelty: number;
  popularFill: number;
}

export const METRIC_KEYS = ['map', 'ndcg', 'precision', 'recall', 'hitRate', 'mrr', 'coverage', 'novelty', 'popularFill'] as const satisfies readonly (keyof Metrics)[];
export type MetricKey = (typeof METRIC_KEYS)[number];

/** Column titles as printed, `@k` appended where the metric is "at k". */
export const METRIC_LABELS: Record<MetricKey, string> = {
  map: 'MAP',
  ndcg: 'NDCG',
  precision: 'Precision',
  recall: 'Recall',
  hitRate: 'HitRate',
  mrr: 'MRR',
  coverage: 'Coverage',
  novelty: 'Novelty',
  popularFill: 'PopularFill',
};

/** What novelty needs of the train part. */
export interface Popularity {
  /** Distinct users in the train part. */
  nUsers: number;
  /** Distinct train users who interacted with the item (external id); 0 when none. */
  usersOf(itemId: number): number;
}

/** The ideal DCG of rectools' NDCG with divide_by_achievable=False: all k positions relevant. */
export function idealDcg(k: number): number {
  let sum = 0;
  for (let i = 1; i <= k; i++) sum += 1 / Math.log2(i + 1);
  return sum;
}

/**
 * Adds users one by one (so a Kion-scale run never holds every list at once) and reports the
 * means. `relevant` must not be empty: users without test items are not test users.
 */
export class MetricsAccumulator {
  private users = 0;
  private sums = { map: 0, ndcg: 0, precision: 0, recall: 0, hitRate: 0, mrr: 0 };
  private noveltySum = 0;
  private noveltyUsers = 0;
  private recommended = 0;
  private filled = 0;
  private readonly covered = new Set<number>();
  private readonly idcg: number;

  constructor(
    readonly k: number,
    private readonly popularity: Popularity,
  ) {
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a positive integer, got ${k}`);
    this.idcg = idealDcg(k);
  }

  /** One user's list (best first; only the first k count) and relevant items; `fallback` as the model reported it. */
  add(recommended: readonly number[], relevant: ReadonlySet<number>, fallback = 0): void {
    if (relevant.size === 0) throw new RangeError('a test user needs at least one relevant item');
    const n = Math.min(recommended.length, this.k);
    let hits = 0;
    let ap = 0;
    let dcg = 0;
    let rr = 0;
    let novelty = 0;
    const logNUsers = Math.log2(this.popularity.nUsers);
    for (let i = 0; i < n; i++) {
      const item = recommended[i] as number;
      this.covered.add(item);
      novelty += logNUsers - Math.log2(Math.max(1, this.popularity.usersOf(item)));
      if (!relevant.has(item)) continue;
      hits++;
      ap += hits / (i + 1);
      dcg += 1 / Math.log2(i + 2);
      if (rr === 0) rr = 1 / (i + 1);
    }
    const s = this.sums;
    s.map += ap / relevant.size;
    s.ndcg += dcg / this.idcg;
    s.precision += hits / this.k;
    s.recall += hits / relevant.size;
    s.hitRate += hits > 0 ? 1 : 0;
    s.mrr += rr;
    this.users++;
    if (n > 0) {
      this.noveltySum += novelty / n;
      this.noveltyUsers++;
    }
    this.recommended += n;
    this.filled += Math.min(fallback, n);
  }

  get userCount(): number {
    return this.users;
  }

  result(): Metrics {
    const mean = (x: number): number => (this.users === 0 ? 0 : x / this.users);
    const s = this.sums;
    return {
      map: mean(s.map),
      ndcg: mean(s.ndcg),
      precision: mean(s.precision),
      recall: mean(s.recall),
      hitRate: mean(s.hitRate),
      mrr: mean(s.mrr),
      coverage: this.covered.size,
      novelty: this.noveltyUsers === 0 ? 0 : this.noveltySum / this.noveltyUsers,
      popularFill: this.recommended === 0 ? 0 : this.filled / this.recommended,
    };
  }
}

/** Sorted-sample percentile (nearest rank), p in [0, 100]. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}
