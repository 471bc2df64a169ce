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
  recommend(userId: number, k: number, stages: Stages): Recommendation;
}

/** What the HTTP layer needs of the model registry. */
export interface ModelLookup {
  get(name: string): Recommender | undefined;
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
