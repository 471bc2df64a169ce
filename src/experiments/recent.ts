/**
 * The arm and model version of this process's most recent experiment recommendations, by
 * recommendation id, so a feedback line can say which arm it answers. That puts the arm on
 * both lines a dashboard counts (Kibana cannot join the feedback line with the access line),
 * so CTR per arm is a ratio of two counts split by `reco.arm`.
 *
 * Bounded: the oldest entry goes when MAX_RECENT is reached (a Map keeps insertion order), so
 * at most ~10 MB whatever the traffic. It is a convenience for live dashboards, not the
 * record: a feedback arriving after its entry was evicted, after a restart, or at another
 * worker (WORKERS > 1) is logged without the arm, and the exact join is the access line's
 * `reco.recommendation_id` (what the A/B report uses).
 */
export interface ServedArm {
  experiment: string;
  arm: string;
  model_version?: string | undefined;
}

/** ~36-character key + a small object: about 200 bytes each, 10 MB in all. */
export const MAX_RECENT = 50_000;

export class RecentRecommendations {
  private readonly byId = new Map<string, ServedArm>();

  constructor(private readonly max = MAX_RECENT) {}

  remember(recommendationId: string, served: ServedArm): void {
    if (this.byId.size >= this.max) {
      const oldest = this.byId.keys().next();
      if (oldest.done !== true) this.byId.delete(oldest.value);
    }
    this.byId.set(recommendationId, served);
  }

  /** Kept after a lookup: a recommendation may be viewed, clicked and bought. */
  get(recommendationId: string): ServedArm | undefined {
    return this.byId.get(recommendationId);
  }

  get size(): number {
    return this.byId.size;
  }
}
