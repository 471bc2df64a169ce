/**
 * The report's counts from Elasticsearch, exact: a terms aggregation by arm over the
 * experiment's access lines (checked to have no count error and no "other" bucket), the
 * distinct clicked recommendation ids by a composite aggregation paged to the end, and their
 * arms by a terms query on the access lines in chunks — never a sample of documents.
 */
import type { Client } from '@elastic/elasticsearch';
import type { AggregationsAggregate, QueryDslQueryContainer } from '@elastic/elasticsearch/lib/api/types';
import { ACCESS_DATASET, FEEDBACK_DATASET, LOGS_INDEX } from '../src/contracts';
import type { ArmCounts, ExperimentCounts } from './report';

export interface TimeRange {
  /** ISO times or Elasticsearch date math (`now-1h`). */
  from?: string;
  to?: string;
}

export interface EsSource {
  client: Client;
  index?: string;
  range?: TimeRange;
}

/** More arms than any experiment has: the terms aggregation then returns them all. */
const MAX_ARMS = 1000;
/** Ids per terms query: well under Elasticsearch's index.max_terms_count (65 536). */
const ID_CHUNK = 10_000;

function rangeFilter(range: TimeRange | undefined): QueryDslQueryContainer[] {
  if (range?.from === undefined && range?.to === undefined) return [];
  return [{ range: { '@timestamp': { ...(range.from !== undefined ? { gte: range.from } : {}), ...(range.to !== undefined ? { lte: range.to } : {}) } } }];
}

export function accessQuery(experiment: string, range?: TimeRange): QueryDslQueryContainer {
  return { bool: { filter: [{ term: { 'event.dataset': ACCESS_DATASET } }, { term: { 'reco.experiment': experiment } }, ...rangeFilter(range)] } };
}

export function clickQuery(range?: TimeRange): QueryDslQueryContainer {
  return { bool: { filter: [{ term: { 'event.dataset': FEEDBACK_DATASET } }, { term: { 'reco.feedback_event': 'click' } }, ...rangeFilter(range)] } };
}

interface TermsBucket {
  key: string;
  doc_count: number;
}
interface TermsAgg {
  buckets: TermsBucket[];
  doc_count_error_upper_bound?: number;
  sum_other_doc_count?: number;
}

function exactTerms(agg: AggregationsAggregate | undefined, what: string): TermsBucket[] {
  const terms = agg as unknown as TermsAgg | undefined;
  if (terms === undefined) throw new Error(`Elasticsearch returned no ${what} aggregation`);
  if ((terms.doc_count_error_upper_bound ?? 0) !== 0 || (terms.sum_other_doc_count ?? 0) !== 0) {
    throw new Error(`the ${what} counts are not exact (doc_count_error_upper_bound ${terms.doc_count_error_upper_bound}, sum_other_doc_count ${terms.sum_other_doc_count})`);
  }
  return terms.buckets;
}

type ArmBucket = TermsBucket & {
  server_errors: { doc_count: number };
  client_errors: { doc_count: number };
  recommendations: { doc_count: number };
  versions: TermsAgg;
  models: TermsAgg;
  latency: { values: Record<string, number | null> };
};

/** Per-arm request counts (and ES latency percentiles) of one experiment's access lines. */
async function armRequests(source: EsSource, experiment: string): Promise<Map<string, ArmCounts>> {
  const res = await source.client.search({
    index: source.index ?? LOGS_INDEX,
    size: 0,
    track_total_hits: true,
    query: accessQuery(experiment, source.range),
    aggs: {
      arms: {
        terms: { field: 'reco.arm', size: MAX_ARMS, missing: '(none)' },
        aggs: {
          server_errors: { filter: { range: { 'http.response.status_code': { gte: 500 } } } },
          client_errors: { filter: { range: { 'http.response.status_code': { gte: 400, lt: 500 } } } },
          recommendations: { filter: { exists: { field: 'reco.recommendation_id' } } },
          versions: { terms: { field: 'reco.model_version', size: 100 } },
          models: { terms: { field: 'reco.model', size: 100 } },
          // event.duration is in nanoseconds (ECS).
          latency: { percentiles: { field: 'event.duration', percents: [50, 99] } },
        },
      },
    },
  });
  const out = new Map<string, ArmCounts>();
  for (const b of exactTerms(res.aggregations?.arms, 'arm') as ArmBucket[]) {
    const p50 = b.latency.values['50.0'];
    const p99 = b.latency.values['99.0'];
    out.set(b.key, {
      arm: b.key,
      requests: b.doc_count,
      errors: b.server_errors.doc_count,
      clientErrors: b.client_errors.doc_count,
      recommendations: b.recommendations.doc_count,
      clicked: 0,
      versions: b.versions.buckets.map((v) => v.key).sort(),
      models: b.models.buckets.map((v) => v.key).sort(),
      ...(typeof p50 === 'number' && typeof p99 === 'number' ? { latencyMs: { p50: p50 / 1e6, p99: p99 / 1e6 } } : {}),
    });
  }
  return out;
}

/** Every distinct recommendation id with a click line, by a composite aggregation paged to its end. */
export async function clickedRecommendationIds(source: EsSource): Promise<string[]> {
  const ids: string[] = [];
  let after: Record<string, string> | undefined;
  for (;;) {
    const res = await source.client.search({
      index: source.index ?? LOGS_INDEX,
      size: 0,
      query: clickQuery(source.range),
      aggs: {
        ids: {
          composite: { size: ID_CHUNK, sources: [{ id: { terms: { field: 'reco.recommendation_id' } } }], ...(after !== undefined ? { after } : {}) },
        },
      },
    });
    const agg = res.aggregations?.ids as unknown as { buckets: { key: { id: string } }[]; after_key?: Record<string, string> } | undefined;
    const buckets = agg?.buckets ?? [];
    for (const b of buckets) ids.push(b.key.id);
    if (buckets.length < ID_CHUNK || agg?.after_key === undefined) return ids;
    after = agg.after_key;
  }
}

/** The experiment's exact per-arm counts and clicks, joined by recommendation id. */
export async function countsFromElasticsearch(source: EsSource, experiment: string): Promise<ExperimentCounts> {
  const index = source.index ?? LOGS_INDEX;
  await source.client.indices.refresh({ index });
  const arms = await armRequests(source, experiment);
  const clicked = await clickedRecommendationIds(source);
  let orphanClicks = 0;
  for (let start = 0; start < clicked.length; start += ID_CHUNK) {
    const chunk = clicked.slice(start, start + ID_CHUNK);
    // Any access line (any experiment, any time) counts for "has an access line"; only this
    // experiment's lines in the range give arms.
    const res = await source.client.search({
      index,
      size: 0,
      track_total_hits: true,
      query: { bool: { filter: [{ term: { 'event.dataset': ACCESS_DATASET } }, { terms: { 'reco.recommendation_id': chunk } }] } },
      aggs: {
        experiment: {
          filter: accessQuery(experiment, source.range),
          aggs: { arms: { terms: { field: 'reco.arm', size: MAX_ARMS, missing: '(none)' } } },
        },
      },
    });
    const total = typeof res.hits.total === 'number' ? res.hits.total : (res.hits.total?.value ?? 0);
    // One access line per recommendation id: the count of lines is the count of joined ids.
    orphanClicks += chunk.length - total;
    const inExperiment = (res.aggregations?.experiment as unknown as { arms: AggregationsAggregate } | undefined)?.arms;
    for (const b of exactTerms(inExperiment, 'clicked arm')) {
      const arm = arms.get(b.key);
      if (arm !== undefined) arm.clicked += b.doc_count;
    }
  }
  return {
    experiment,
    arms: [...arms.values()].sort((a, b) => a.arm.localeCompare(b.arm)),
    clickedIds: clicked.length,
    orphanClicks,
    latencySource: 'Elasticsearch percentiles of event.duration (TDigest)',
  };
}
