/**
 * Names that more than one part of recoscope must agree on, written once: the service writes
 * them, the ELK tooling (index template, Kibana objects, `npm run logs`), Filebeat's and the
 * collector's configs and the tests read them. Change one here and the type checker finds
 * every user; the static tests check the YAML/JSON files that cannot import this module.
 */

/** `event.dataset` of the per-request access line. */
export const ACCESS_DATASET = 'recoscope.access';
/** `event.dataset` of an accepted feedback event (POST /feedback): one line per event. */
export const FEEDBACK_DATASET = 'recoscope.feedback';
/** `event.dataset` of everything else the service logs. */
export const APP_DATASET = 'recoscope.app';

/** Elasticsearch index (and alias prefix) that Filebeat writes the log lines to. */
export const LOGS_INDEX = 'reco-logs';
/** Kibana data view over the log indices. */
export const LOGS_DATA_VIEW_PATTERN = `${LOGS_INDEX}*`;
/** Elasticsearch index of offline model evaluations (`npm run evaluate`). */
export const EXPERIMENTS_INDEX = 'reco-experiments';

/** Response header carrying the request's trace id (and the W3C `traceparent`). */
export const TRACE_ID_HEADER = 'x-trace-id';
export const TRACEPARENT_HEADER = 'traceparent';
/**
 * Response header of every recommendation (a 200 of the reco route): a fresh UUID v4, also
 * the access line's `reco.recommendation_id`. A feedback event names it, which is how a click
 * is joined with the arm and model version that served the recommendation.
 */
export const RECOMMENDATION_ID_HEADER = 'x-recommendation-id';

/** The kinds of feedback event POST /feedback accepts (`reco.feedback_event`). */
export const FEEDBACK_EVENTS = ['click', 'view', 'purchase'] as const;
export type FeedbackEvent = (typeof FEEDBACK_EVENTS)[number];

/**
 * The model registry's aliases (src/models/model-registry.ts): a ref `<model>@<alias>` follows
 * promotions; a bare `<model>` means `<model>@production`.
 */
export const MODEL_ALIASES = ['production', 'staging', 'canary'] as const;
export type ModelAlias = (typeof MODEL_ALIASES)[number];

/** `event.action` of the log line a reload writes per alias that changed version, and per refusal. */
export const MODEL_PROMOTED_ACTION = 'model-promoted';
export const MODEL_REFUSED_ACTION = 'model-refused';

/** POST here (Bearer ADMIN_API_KEY) reloads the models from the registry, like SIGHUP. */
export const ADMIN_RELOAD_PATH = '/admin/models/reload';

/** Route templates, as they appear in spans, metrics labels and the OpenAPI document. */
export const ROUTES = {
  health: '/health',
  reco: '/reco/:model_name/:user_id',
  feedback: '/feedback',
} as const;

/**
 * Exit codes of the service, one per kind of start-up failure, so a supervisor (or a test) can
 * tell them apart without parsing stderr. Each failure also prints one line on stderr.
 */
export const EXIT_CODES = {
  ok: 0,
  /** Unexpected failure (a bug): one line on stderr. */
  failure: 1,
  /** Invalid configuration (environment variables). */
  config: 2,
  /** LOG_DIR cannot be created or written. */
  logDir: 3,
  /** The listen address/port cannot be bound (e.g. already in use). */
  listen: 4,
  /** The dataset cannot be read or parsed (or a model cannot be trained from it). */
  dataset: 5,
} as const;
