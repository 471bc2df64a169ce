/**
 * The service's Prometheus metrics (prom-client), kept in one private registry.
 *
 * Families (Prometheus naming, base units, `_total` counters):
 *   http_server_request_duration_seconds{method,route,status_code,arm,model_version}
 *                                                                     histogram, exemplar trace_id
 *   http_server_active_requests                                      gauge (in flight)
 *   recoscope_recommendations_total{model,outcome,arm,model_version} counter
 *   recoscope_feedback_events_total{event}                           counter (accepted POST /feedback)
 *   recoscope_fallback_items_total{model}                            counter (items filled from popular)
 *   recoscope_model_call_duration_seconds{model}                     histogram, exemplar trace_id
 *   recoscope_model_info{model,version,dataset_fingerprint}          gauge = 1
 *   recoscope_model_load_duration_seconds{model,source}              gauge (artifact read or training)
 *   recoscope_dataset_load_duration_seconds                          gauge
 *   recoscope_telemetry_dropped_total{signal,reason,output}          counter (log lines / spans lost,
 *                                                                     see telemetry-loss.ts)
 *   grpc_request_duration_seconds{method,status}                     histogram, exemplar trace_id (gRPC server)
 *   grpc_requests_total{method,status}                               counter (status: gRPC code name)
 *   grpc_requests_in_progress{method}                                gauge
 *   process_* / nodejs_*                                              prom-client defaults (CPU, memory,
 *                                                                     heap, event-loop lag, GC, handles)
 *
 * Cardinality is bounded by construction: `model` is one of the served models or `unknown`,
 * `route` is a route template or `unmatched` (never the raw path), `method` one of the HTTP
 * methods or `_OTHER`, `outcome` ok/cold_start/fallback/aborted or an error key (a closed
 * set), `status_code` a three-digit number, `arm` one of the configured experiment arms (`none`
 * outside an experiment), `model_version` one of the loaded models' versions (`none` before a
 * model served), `event` one of FEEDBACK_EVENTS; any other value is `other`. No user ids, no
 * free text.
 */
import { FastCounter, FastHistogram, SampledCounter } from './fast-metrics';
import { telemetryDrops } from './telemetry-loss';
import {
  Gauge,
  Registry,
  collectDefaultMetrics,
  type OpenMetricsContentType,
  openMetricsContentType,
  prometheusContentType,
} from 'prom-client';

/** Seconds; dense below 100 ms where the service lives, 0.1 is the /reco latency SLO threshold. */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export const UNKNOWN_MODEL = 'unknown';
/** `arm` / `model_version` of a request no experiment arm / no model served. */
export const NO_LABEL = 'none';
/** `arm` / `model_version` of a value outside the configured/loaded set (bounded by construction). */
export const OTHER_LABEL = 'other';
export const UNMATCHED_ROUTE = 'unmatched';
const OTHER_METHOD = '_OTHER';
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'TRACE']);

/** Everything the per-request recorder needs, read off the response once it is done. */
export interface RequestObservation {
  method: string;
  /** Route template as Express matched it, e.g. `/reco/:model_name/:user_id`; undefined when none matched. */
  route: string | undefined;
  statusCode: number;
  durationSeconds: number;
  aborted: boolean;
  traceId: string | undefined;
  /** Present for requests the reco route handled (even rejected ones). */
  reco?: {
    model: string | undefined;
    /** Error key of a failed request, else undefined. */
    errorKey: string | undefined;
    coldStart: boolean | undefined;
    fallback: number | undefined;
    /** The experiment arm that served (RecoFields.arm), else undefined. */
    arm?: string | undefined;
    /** The served model's version (RecoFields.model_version), else undefined. */
    modelVersion?: string | undefined;
  };
}

/** One finished gRPC call (src/grpc/), as the RPC sinks get it. */
export interface RpcObservation {
  /** `<package.Service>/<Method>`, a closed set (the methods the proto defines). */
  method: string;
  /** gRPC status code name: OK, NOT_FOUND, … */
  status: string;
  durationSeconds: number;
  traceId: string | undefined;
  cancelled: boolean;
  reco: NonNullable<RequestObservation['reco']>;
}

export interface ModelInfo {
  model: string;
  version: string;
  datasetFingerprint: string;
  source: 'artifact' | 'trained';
  loadSeconds: number;
}

export interface MetricsOptions {
  /** The route templates the app serves; anything else is `unmatched`. */
  routes: readonly string[];
  /** prom-client's default process/runtime metrics (off in unit tests that count series). */
  defaultMetrics?: boolean;
}

type Outcome = string;


export class ServiceMetrics {
  // Created as OpenMetrics (prom-client allows exemplars only then); render() switches per scrape.
  // (prom-client's typings declare no constructor argument; the runtime takes the content type.)
  readonly registry: Registry<OpenMetricsContentType> = new (Registry as unknown as new (
    contentType: OpenMetricsContentType,
  ) => Registry<OpenMetricsContentType>)(openMetricsContentType);
  private readonly routes: ReadonlySet<string>;
  private models: ReadonlySet<string> = new Set();
  private arms: ReadonlySet<string> = new Set();
  private versions = new Set<string>();
  private readonly requestDuration: FastHistogram;
  private activeRequests = 0;
  private readonly recommendations: FastCounter;
  private readonly fallbackItems: FastCounter;
  private readonly feedbackEvents: FastCounter;
  private readonly modelCallDuration: FastHistogram;
  private readonly modelInfo: Gauge<'model' | 'version' | 'dataset_fingerprint'>;
  private readonly modelLoadDuration: Gauge<'model' | 'source'>;
  private readonly datasetLoadDuration: Gauge;
  private readonly rpcDuration: FastHistogram;
  private readonly rpcRequests: FastCounter;
  private readonly rpcInProgress: Gauge<'method'>;
  /** Counter names as registered (prom-client's OpenMetrics writer strips `_total` in place). */
  private counterNames = new Map<{ name: string }, string>();
  private rendering: Promise<unknown> = Promise.resolve();

  constructor(options: MetricsOptions) {
    this.routes = new Set(options.routes);
    const registers = [this.registry];
    // Per-request families: fast accumulators (fast-metrics.ts), exposed through this registry.
    this.requestDuration = new FastHistogram(
      'http_server_request_duration_seconds',
      'Duration of HTTP server requests, from their first middleware (the request lifecycle) to the response closing: the interval of the access line and the server span.',
      LATENCY_BUCKETS,
      this.registry,
    );
    new Gauge({
      name: 'http_server_active_requests',
      help: 'HTTP server requests in flight.',
      registers,
      collect: ((self: ServiceMetrics) =>
        function (this: Gauge) {
          this.set(self.activeRequests);
        })(this),
    });
    this.recommendations = new FastCounter(
      'recoscope_recommendations_total',
      'Recommendation requests by model and outcome (ok, cold_start, fallback, aborted, or the error key).',
      this.registry,
    );
    this.fallbackItems = new FastCounter(
      'recoscope_fallback_items_total',
      'Recommended items filled from the popular model because the requested model had fewer than k.',
      this.registry,
    );
    this.feedbackEvents = new FastCounter(
      'recoscope_feedback_events_total',
      'Feedback events accepted by POST /feedback, by event (click, view, purchase).',
      this.registry,
    );
    this.modelCallDuration = new FastHistogram(
      'recoscope_model_call_duration_seconds',
      "Duration of the model's recommend call (history, scoring, filtering, popular fill).",
      LATENCY_BUCKETS,
      this.registry,
    );
    this.modelInfo = new Gauge({
      name: 'recoscope_model_info',
      // Every worker reports the same value: the aggregate across workers is one of them, not the sum.
      aggregator: 'max',
      help: 'Models being served (value 1), with their artifact version and the dataset fingerprint they were trained on.',
      labelNames: ['model', 'version', 'dataset_fingerprint'],
      registers,
    });
    this.modelLoadDuration = new Gauge({
      name: 'recoscope_model_load_duration_seconds',
      // Every worker reports the same value: the aggregate across workers is one of them, not the sum.
      aggregator: 'max',
      help: 'Time spent at start-up reading a model artifact (source="artifact") or training the model (source="trained").',
      labelNames: ['model', 'source'],
      registers,
    });
    this.datasetLoadDuration = new Gauge({
      name: 'recoscope_dataset_load_duration_seconds',
      // Every worker reports the same value: the aggregate across workers is one of them, not the sum.
      aggregator: 'max',
      help: 'Time spent at start-up loading the dataset.',
      registers,
    });
    new SampledCounter(
      'recoscope_telemetry_dropped_total',
      'Telemetry the service lost: log lines (signal="log", per output) and spans (signal="span") dropped, by reason.',
      () => telemetryDrops().map((d) => ({ labels: { signal: d.signal, reason: d.reason, output: d.output }, value: d.count })),
      this.registry,
    );
    // The gRPC server's families, under the names of the course report it serves.
    this.rpcDuration = new FastHistogram(
      'grpc_request_duration_seconds',
      'Duration of gRPC calls, from the call arriving to its status being sent.',
      LATENCY_BUCKETS,
      this.registry,
    );
    this.rpcRequests = new FastCounter('grpc_requests_total', 'gRPC calls by method and status code name.', this.registry);
    this.rpcInProgress = new Gauge({ name: 'grpc_requests_in_progress', help: 'gRPC calls in flight.', labelNames: ['method'], registers });
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
    for (const metric of this.registry.getMetricsAsArray()) {
      // prom-client's typings do not expose `type`/`name` on the base Metric; both are plain fields.
      const m = metric as unknown as { type: string; name: string };
      if (m.type === 'counter') this.counterNames.set(m, m.name);
    }
  }

  /** The models being served, with their info series and load durations. */
  setModels(models: readonly ModelInfo[], datasetLoadSeconds?: number): void {
    this.models = new Set(models.map((m) => m.model));
    for (const m of models) this.versions.add(m.version);
    this.modelInfo.reset();
    this.modelLoadDuration.reset();
    for (const m of models) {
      this.modelInfo.set({ model: m.model, version: m.version, dataset_fingerprint: m.datasetFingerprint }, 1);
      this.modelLoadDuration.set({ model: m.model, source: m.source }, m.loadSeconds);
    }
    if (datasetLoadSeconds !== undefined) this.datasetLoadDuration.set(datasetLoadSeconds);
  }

  /** One more served model (the gRPC server's knn_onnx, known only after start-up). */
  addModel(m: ModelInfo): void {
    this.models = new Set([...this.models, m.model]);
    this.versions.add(m.version);
    this.modelInfo.set({ model: m.model, version: m.version, dataset_fingerprint: m.datasetFingerprint }, 1);
    this.modelLoadDuration.set({ model: m.model, source: m.source }, m.loadSeconds);
  }

  /** The configured experiment arms: the `arm` label's values (anything else is `other`). */
  setArms(arms: readonly string[]): void {
    this.arms = new Set(arms);
  }

  /**
   * Model versions a request may be labelled with, besides those of setModels/addModel (a
   * version loaded later, e.g. by a promotion). Each is a handful of series more, so only
   * versions actually loaded belong here.
   */
  addModelVersions(versions: readonly string[]): void {
    for (const v of versions) this.versions.add(v);
  }

  private armLabel(arm: string | undefined): string {
    return arm === undefined ? NO_LABEL : this.arms.has(arm) ? arm : OTHER_LABEL;
  }

  private versionLabel(version: string | undefined): string {
    return version === undefined ? NO_LABEL : this.versions.has(version) ? version : OTHER_LABEL;
  }

  /** One accepted feedback event (the event is validated: one of FEEDBACK_EVENTS). */
  feedbackEvent(event: string): void {
    this.feedbackEvents.inc(event, () => ({ event }));
  }

  /** A model name as a label value: one of the served models, else `unknown`. */
  modelLabel(name: string | undefined): string {
    return name !== undefined && this.models.has(name) ? name : UNKNOWN_MODEL;
  }

  requestStarted(): void {
    this.activeRequests++;
  }

  /** One call per finished (or aborted) request. */
  requestDone(o: RequestObservation): void {
    this.activeRequests--;
    const method = KNOWN_METHODS.has(o.method) ? o.method : OTHER_METHOD;
    const route = o.route !== undefined && this.routes.has(o.route) ? o.route : UNMATCHED_ROUTE;
    // A response never started has no real status: 499, nginx's "client closed request".
    const status = o.aborted && o.statusCode < 400 ? 499 : o.statusCode;
    const arm = this.armLabel(o.reco?.arm);
    const modelVersion = this.versionLabel(o.reco?.modelVersion);
    this.requestDuration.observe(
      `${method} ${status} ${route} ${arm} ${modelVersion}`,
      () => ({ method, route, status_code: String(status), arm, model_version: modelVersion }),
      o.durationSeconds,
      o.traceId,
    );
    if (o.reco !== undefined) this.countRecommendation(o.reco, o.aborted);
  }

  rpcStarted(method: string): void {
    this.rpcInProgress.inc({ method });
  }

  /** One call per finished gRPC call; its recommendation counts like an HTTP one. */
  rpcDone(o: RpcObservation): void {
    this.rpcInProgress.dec({ method: o.method });
    const key = `${o.method} ${o.status}`;
    const labels = (): Record<string, string> => ({ method: o.method, status: o.status });
    this.rpcDuration.observe(key, labels, o.durationSeconds, o.traceId);
    this.rpcRequests.inc(key, labels);
    this.countRecommendation(o.reco, o.cancelled);
  }

  private countRecommendation(reco: NonNullable<RequestObservation['reco']>, aborted: boolean): void {
    const model = this.modelLabel(reco.model);
    let outcome: Outcome;
    if (reco.errorKey !== undefined) outcome = reco.errorKey;
    else if (aborted) outcome = 'aborted';
    else if (reco.coldStart === true) outcome = 'cold_start';
    else if (reco.fallback !== undefined && reco.fallback > 0) outcome = 'fallback';
    else outcome = 'ok';
    const arm = this.armLabel(reco.arm);
    const modelVersion = this.versionLabel(reco.modelVersion);
    this.recommendations.inc(`${model} ${outcome} ${arm} ${modelVersion}`, () => ({ model, outcome, arm, model_version: modelVersion }));
    if (reco.fallback !== undefined && reco.fallback > 0) this.fallbackItems.inc(model, () => ({ model }), reco.fallback);
  }

  /** Duration of one model call (also when it threw). */
  modelCall(name: string, seconds: number, traceId: string | undefined): void {
    const model = this.modelLabel(name);
    this.modelCallDuration.observe(model, () => ({ model }), seconds, traceId);
  }

  /** Number of time series (sample lines) the registry exposes now: what cardinality tests count. */
  async seriesCount(): Promise<number> {
    const text = await this.render(false);
    return text.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length;
  }

  /**
   * The exposition, text format 0.0.4 or OpenMetrics 1.0.0 (exemplars only exist in the latter).
   * prom-client fixes the format per registry and renames counters in place for OpenMetrics, so
   * renders are serialised and each one sets the format and the counter names it needs.
   */
  render(openMetrics: boolean): Promise<string> {
    const run = this.rendering.then(async () => {
      if (openMetrics) {
        this.registry.setContentType(openMetricsContentType);
      } else {
        for (const [metric, name] of this.counterNames) metric.name = name;
        // The registry's type parameter is fixed at OpenMetrics; the runtime accepts both.
        this.registry.setContentType(prometheusContentType as unknown as OpenMetricsContentType);
      }
      return this.registry.metrics();
    });
    this.rendering = run.catch(() => undefined);
    return run;
  }
}

export const CONTENT_TYPES = { text: prometheusContentType, openMetrics: openMetricsContentType } as const;

/**
 * Content negotiation on the Accept header: OpenMetrics when the client ranks it at least as
 * high as the text format (Prometheus does; curl's default accepts anything and gets text).
 */
export function wantsOpenMetrics(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  let openMetrics = -1;
  let text = -1;
  for (const part of accept.split(',')) {
    const [type = '', ...params] = part.trim().split(';').map((s) => s.trim());
    let q = 1;
    for (const p of params) {
      if (p.startsWith('q=')) q = Number(p.slice(2));
    }
    if (!Number.isFinite(q)) continue;
    const t = type.toLowerCase();
    if (t === 'application/openmetrics-text') openMetrics = Math.max(openMetrics, q);
    else if (t === 'text/plain') text = Math.max(text, q);
  }
  return openMetrics > 0 && openMetrics >= text;
}
