/**
 * The models the service offers and the parameters each one depends on. A model's params
 * (with the dataset fingerprint) decide whether a saved artifact can be reused, so each spec
 * lists only what changes that model's output: BM25's K1/B are not part of cosine's params.
 */
import type { ModelParams } from '../config';
import type { Weighting } from './weighting';

export const MODEL_NAMES = ['popular', 'knn', 'knn_cosine', 'knn_tfidf'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

export type ModelSpec =
  | { name: ModelName; kind: 'popular'; params: { windowDays: number } }
  | { name: ModelName; kind: 'knn'; params: KnnParams };

export interface KnnParams {
  weighting: Weighting;
  neighbours: number;
  k1?: number;
  b?: number;
}

const KNN_WEIGHTING: Record<Exclude<ModelName, 'popular'>, Weighting> = {
  knn: 'bm25',
  knn_cosine: 'cosine',
  knn_tfidf: 'tfidf',
};

export function isModelName(name: string): name is ModelName {
  return (MODEL_NAMES as readonly string[]).includes(name);
}

export function modelSpec(name: ModelName, params: ModelParams): ModelSpec {
  if (name === 'popular') return { name, kind: 'popular', params: { windowDays: params.popularWindowDays } };
  const weighting = KNN_WEIGHTING[name];
  const knn: KnnParams = { weighting, neighbours: params.knnNeighbours };
  if (weighting === 'bm25') {
    knn.k1 = params.bm25K1;
    knn.b = params.bm25B;
  }
  return { name, kind: 'knn', params: knn };
}

/** Parses a comma-separated model list (CLI flag), rejecting unknown names with the valid ones. */
export function parseModelList(text: string): ModelName[] {
  const names = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  const unknown = names.filter((n) => !isModelName(n));
  if (unknown.length > 0) throw new Error(`unknown model(s) ${unknown.join(', ')}; expected some of ${MODEL_NAMES.join(', ')}`);
  if (names.length === 0) throw new Error(`no models given; expected some of ${MODEL_NAMES.join(', ')}`);
  return [...new Set(names)] as ModelName[];
}

/** Key order fixed, so equal params always serialise to the same string. */
export function canonicalParams(spec: ModelSpec): string {
  const params = spec.params as unknown as Record<string, unknown>;
  return JSON.stringify(Object.fromEntries(Object.keys(params).sort().map((k) => [k, params[k]])));
}
