/**
 * The names shared by the service (which writes continuous profiles) and the profiles/ tool
 * (which reads them back): sample label keys, the span attribute, the metadata log line.
 */

/** pprof sample label keys. Trace and span ids only on samples of sampled (exported) traces. */
export const LABELS = {
  traceId: 'trace_id',
  spanId: 'span_id',
  route: 'route',
  model: 'model',
  modelVersion: 'model_version',
} as const;

/** Labels with few distinct values: the serializer shares one label object per value. */
export const LOW_CARDINALITY_LABELS: readonly string[] = [LABELS.route, LABELS.model, LABELS.modelVersion];

/** Server span attribute: the id of the profile being recorded when the request started. */
export const PROFILE_ID_ATTRIBUTE = 'profile.id';

/** event.action of the log line that indexes one written profile (shipped to Elasticsearch). */
export const PROFILE_WRITTEN_ACTION = 'profile-written';

/** A stored profile's file name: `<id>.pb.gz`, gzip-compressed pprof. */
export const PROFILE_FILE_SUFFIX = '.pb.gz';

/** What the metadata log line carries under `recoscope.profile`. */
export interface ProfileMetadata {
  id: string;
  /** File name inside the store, and the store's absolute path on the host that wrote it. */
  file: string;
  store: string;
  start: string;
  end: string;
  duration_ms: number;
  /** Samples in the profile (labelled or not), at `hz`. */
  samples: number;
  hz: number;
  bytes: number;
  /** Distinct sampled trace ids with at least one sample in this profile. */
  trace_ids: string[];
  routes: string[];
  models: string[];
  model_versions: string[];
}
