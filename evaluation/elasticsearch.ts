/**
 * Indexes evaluation runs into Elasticsearch (`reco-experiments`, one document per model run,
 * id = the model run id so re-sending a run replaces it), after putting the index template
 * elk/index-templates/reco-experiments.json so the mapping is right even without elk:setup.
 * The Kibana objects over the index are in elk/kibana/experiments.ts.
 */
import { join } from 'node:path';
import type { Client } from '@elastic/elasticsearch';
import { readIndexTemplates } from '../elk/setup';
import { EXPERIMENTS_INDEX } from '../src/contracts';
import { PROJECT_ROOT } from '../src/paths';
import type { ModelResult } from './evaluate';
import type { RunRecord } from './runs';
import { modelRunId } from './runs';
import { describeSplit } from './split';

export interface ExperimentDocument {
  '@timestamp': string;
  evaluation: { id: string; k: number; split: string; split_cutoff?: string; elapsed_ms: number; peak_rss_bytes: number };
  run: { id: string; mlflow_run_id?: string };
  model: { name: string; kind: string; version: string; params: Record<string, unknown> };
  git: { sha: string; dirty: boolean };
  recoscope: { version: string };
  dataset: { source: string; description: string; fingerprint: string; users: number; items: number; interactions: number };
  parts: Record<'train' | 'test' | 'test_warm' | 'test_cold', { users: number; items: number; interactions: number; fingerprint?: string }>;
  metrics: { map: number; ndcg: number; precision: number; recall: number; hit_rate: number; mrr: number; coverage: number; novelty: number; popular_fill: number };
  timings: { train_ms: number; recommend_p50_us: number; recommend_p99_us: number; recommend_total_ms: number };
  artifact: { bytes: number };
}

/** What "version" means on the Kibana charts: the code that trained and scored the model. */
export function codeVersion(record: RunRecord): string {
  const sha = record.git.sha === 'unknown' ? 'unknown' : record.git.sha.slice(0, 10);
  return `${record.recoscopeVersion}+${sha}${record.git.dirty ? '.dirty' : ''}`;
}

export function experimentDocument(record: RunRecord, m: ModelResult): ExperimentDocument {
  const r = record.result;
  const mm = m.metrics;
  return {
    '@timestamp': record.finishedAt,
    evaluation: {
      id: record.id,
      k: r.k,
      split: describeSplit(r.split.spec),
      ...(r.split.cutoff === 'none' ? {} : { split_cutoff: r.split.cutoff }),
      elapsed_ms: r.timings.totalMs,
      peak_rss_bytes: record.peakRssBytes,
    },
    run: { id: modelRunId(record, m.model), ...(record.tracking.mlflow?.runIds[m.model] ? { mlflow_run_id: record.tracking.mlflow.runIds[m.model] } : {}) },
    model: { name: m.model, kind: m.kind, version: codeVersion(record), params: { ...m.params } },
    git: record.git,
    recoscope: { version: record.recoscopeVersion },
    dataset: { ...r.dataset },
    parts: {
      train: { ...r.sizes.train, fingerprint: r.trainFingerprint },
      test: r.sizes.test,
      test_warm: r.sizes.warmTest,
      test_cold: r.sizes.coldTest,
    },
    metrics: {
      map: mm.map,
      ndcg: mm.ndcg,
      precision: mm.precision,
      recall: mm.recall,
      hit_rate: mm.hitRate,
      mrr: mm.mrr,
      coverage: mm.coverage,
      novelty: mm.novelty,
      popular_fill: mm.popularFill,
    },
    timings: {
      train_ms: m.trainMs,
      recommend_p50_us: m.recommendP50Us,
      recommend_p99_us: m.recommendP99Us,
      recommend_total_ms: m.recommendTotalMs,
    },
    artifact: { bytes: m.artifactBytes },
  };
}

export const EXPERIMENTS_TEMPLATE = 'reco-experiments';

export async function indexRuns(client: Client, record: RunRecord, index: string = EXPERIMENTS_INDEX): Promise<string[]> {
  const template = readIndexTemplates(join(PROJECT_ROOT, 'elk', 'index-templates')).find((t) => t.name === EXPERIMENTS_TEMPLATE);
  if (template === undefined) throw new Error(`elk/index-templates/${EXPERIMENTS_TEMPLATE}.json is missing`);
  await client.indices.putIndexTemplate({ name: template.name, ...template.body });
  const operations = record.result.models.flatMap((m) => [{ index: { _index: index, _id: modelRunId(record, m.model) } }, experimentDocument(record, m)]);
  const response = await client.bulk({ operations, refresh: 'wait_for' });
  if (response.errors) {
    const first = response.items.find((i) => i.index?.error !== undefined)?.index?.error;
    throw new Error(`Elasticsearch rejected experiment documents: ${first?.type ?? 'error'}: ${first?.reason ?? 'unknown'}`);
  }
  return record.result.models.map((m) => modelRunId(record, m.model));
}
