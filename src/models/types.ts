/**
 * The contract between the HTTP layer and every recommender. Models know nothing of
 * HTTP, logging or OpenTelemetry; they report their inner stages through `Stages`.
 */
import type { Stages } from './stages';

export interface Recommendation {
  /** External item ids, best first, distinct, none already seen by the user. */
  items: number[];
  /** The user is unknown to the model, so the answer is the popular fallback. */
  coldStart: boolean;
  /** How many of `items` were filled from `popular` because the model had fewer than k. */
  fallback: number;
}

export interface Recommender {
  readonly name: string;
  /**
   * The registry version this instance was loaded from (src/models/model-registry.ts), e.g.
   * `20261201T231820123Z-3f9c2a1b`; what `reco.model_version` says served a request.
   */
  readonly version: string;
  recommend(userId: number, k: number, stages: Stages): Recommendation;
}

/** What the HTTP layer needs of the model registry. */
export interface ModelLookup {
  /**
   * The model a reference names, resolved now (so a caller that keeps the ref, not the model,
   * follows promotions): `<model>` (the model's default, `<model>@production` unless
   * MODEL_REFS says otherwise), `<model>@<alias>` (production, staging, canary) or
   * `<model>@<version>`. Undefined when the ref names nothing loaded.
   */
  get(ref: string): Recommender | undefined;
  /** The model names served (no `@`). */
  names(): string[];
}

/** A model that can also answer for a basket of items instead of a user (the gRPC `history`). */
export interface BasketRecommender extends Recommender {
  /** `itemIds`: external ids; unknown ones are ignored, none is recommended back. */
  recommendItems(itemIds: readonly number[], k: number, stages: Stages): Recommendation;
}

export function isBasketRecommender(model: Recommender): model is BasketRecommender {
  return typeof (model as Partial<BasketRecommender>).recommendItems === 'function';
}
