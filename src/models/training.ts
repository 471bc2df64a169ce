/** Turns a model spec plus the interactions into a trained state, and a state into a model. */
import type { Interactions } from '../data/interactions';
import type { ModelSpec } from './catalog';
import { ItemKnnRecommender } from './knn';
import type { PopularState } from './popular';
import { PopularRecommender, trainPopular } from './popular';
import type { NeighbourGraph } from './similarity';
import { allPairsKnn } from './similarity';
import type { Recommender } from './types';
import { weightedMatrix } from './weighting';

export type ModelState = { kind: 'popular'; popular: PopularState } | { kind: 'knn'; graph: NeighbourGraph };

export interface Trained {
  state: ModelState;
  trainMs: number;
}

export function trainModel(spec: ModelSpec, data: Interactions): Trained {
  const started = performance.now();
  let state: ModelState;
  if (spec.kind === 'popular') {
    state = { kind: 'popular', popular: trainPopular(data, spec.params) };
  } else {
    const { weighting, neighbours, k1, b } = spec.params;
    const weighted = weightedMatrix(data, weighting, { k1: k1 ?? 1.2, b: b ?? 0.75 });
    state = { kind: 'knn', graph: allPairsKnn(weighted, neighbours) };
  }
  return { state, trainMs: Math.round(performance.now() - started) };
}

/** kNN models need the popular model for cold users and short lists. */
export function instantiate(
  spec: ModelSpec,
  state: ModelState,
  data: Interactions,
  popular: PopularRecommender | undefined,
  version?: string,
): Recommender {
  if (state.kind === 'popular') return new PopularRecommender(spec.name, data, state.popular, version);
  if (popular === undefined) throw new Error(`model ${spec.name} needs the popular model for fallback`);
  return new ItemKnnRecommender(spec.name, data, state.graph, popular, version);
}
