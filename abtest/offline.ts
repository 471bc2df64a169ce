/**
 * Each arm's offline quality (MAP@10, NDCG@10) from the model registry under `artifactsDir`
 * (src/models/model-registry.ts), by the model and version the arm's access lines name: the
 * metrics `npm run evaluate` recorded for that version (its metadata's `evaluation`). A version
 * the registry does not hold, or one never evaluated at k = 10, prints "—".
 */
import { existsSync } from 'node:fs';
import { openModelRegistry } from '../src/models/model-registry';
import type { OfflineLookup, OfflineScores } from './report';

export const OFFLINE_K = 10;

export async function offlineLookup(artifactsDir: string): Promise<OfflineLookup> {
  const scores = new Map<string, OfflineScores>();
  if (existsSync(artifactsDir)) {
    for (const v of await openModelRegistry(artifactsDir).list({ archived: true })) {
      const evaluation = v.metadata.evaluation;
      if (evaluation === undefined || evaluation.k !== OFFLINE_K) continue;
      scores.set(`${v.model}@${v.version}`, { map: evaluation.metrics.map, ndcg: evaluation.metrics.ndcg });
    }
  }
  return (model, version) => (model === undefined || version === undefined ? undefined : scores.get(`${model}@${version}`));
}
