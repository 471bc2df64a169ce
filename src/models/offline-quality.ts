/**
 * Links an artifact to the offline evaluation of its configuration: `npm run train --
 * --evaluation runs/<id>.json` copies the metrics of the matching model run (same model, same
 * params, evaluated on the same dataset) into the artifact's metadata.json, so the version the
 * service logs at start-up leads to its offline quality. The run record is written by
 * evaluation/ (`npm run evaluate`); the service reads only the few fields below, structurally.
 */
import type { ModelSpec } from './catalog';
import { canonicalParams } from './catalog';

export interface ArtifactEvaluation {
  /** The evaluation (runs/<id>.json) and its model run (`<id>-<model>`). */
  evaluationId: string;
  evaluatedAt: string;
  k: number;
  /** e.g. `{"kind":"days","days":7}`: the artifact itself is trained on the whole dataset. */
  split: unknown;
  metrics: Record<string, number>;
  /** The MLflow run of this model in that evaluation, when it was tracked (`npm run evaluate -- --mlflow`). */
  mlflowRunId?: string;
}

interface RunRecordShape {
  id?: unknown;
  tracking?: { mlflow?: { runIds?: Record<string, unknown> } };
  finishedAt?: unknown;
  result?: {
    k?: unknown;
    split?: { spec?: unknown };
    dataset?: { fingerprint?: unknown };
    models?: { model?: unknown; kind?: unknown; params?: unknown; metrics?: unknown }[];
  };
}

/**
 * The evaluation of `spec` on the dataset with `fingerprint` in a parsed run record, or why
 * there is none.
 */
export function evaluationFor(record: unknown, spec: ModelSpec, fingerprint: string): ArtifactEvaluation | { missing: string } {
  const r = record as RunRecordShape;
  const result = r?.result;
  if (typeof r?.id !== 'string' || result === undefined || !Array.isArray(result.models)) return { missing: 'not an evaluation run record' };
  if (result.dataset?.fingerprint !== fingerprint) return { missing: `evaluation ${r.id} is of another dataset` };
  const run = result.models.find((m) => m.model === spec.name);
  if (run === undefined) return { missing: `evaluation ${r.id} has no ${spec.name} run` };
  if (run.kind !== spec.kind || canonicalParams({ ...spec, params: run.params } as ModelSpec) !== canonicalParams(spec)) {
    return { missing: `evaluation ${r.id} scored ${spec.name} with other params` };
  }
  const metrics: Record<string, number> = {};
  for (const [key, value] of Object.entries((run.metrics ?? {}) as Record<string, unknown>)) if (typeof value === 'number') metrics[key] = value;
  const mlflowRunId = r.tracking?.mlflow?.runIds?.[spec.name];
  return {
    evaluationId: r.id,
    evaluatedAt: typeof r.finishedAt === 'string' ? r.finishedAt : '',
    k: typeof result.k === 'number' ? result.k : 0,
    split: result.split?.spec,
    metrics,
    ...(typeof mlflowRunId === 'string' ? { mlflowRunId } : {}),
  };
}
