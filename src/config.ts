/**
 * Every setting of the service, read from the environment once at start-up and validated,
 * so a bad value stops the process with one clear line instead of failing mid-request.
 * docs/configuration.md's table documents exactly these variables (test/static/docs.test.ts
 * compares it with SERVICE_ENV_VARIABLES and DEFAULT_CONFIG).
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { isModelName } from './models/catalog';
import { parseModelRef } from './models/refs';
import { PACKAGE } from './paths';

const booleanFromEnv = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'expected true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/**
 * Numbers are written the plain way: ASCII decimal digits (and, for non-integers, one `.`
 * with digits on both sides). `z.coerce.number()` would read `" "` as 0 (a random port),
 * `0x1F90` as 8080 and `8e3` as 8000; a setting that means something other than what it
 * looks like is a configuration error.
 */
const PLAIN_INTEGER = /^[0-9]+$/;
const PLAIN_DECIMAL = /^[0-9]+(\.[0-9]+)?$/;
const plainNumber = (pattern: RegExp, what: string) =>
  z
    .string()
    .regex(pattern, `must be a plain decimal ${what} (digits only: no blanks, sign, hex or exponent)`)
    .transform(Number);
const int = (min: number, max: number) => plainNumber(PLAIN_INTEGER, 'integer').pipe(z.number().int().min(min).max(max));
const positiveNumber = plainNumber(PLAIN_DECIMAL, 'number').pipe(z.number().positive());
const unitInterval = plainNumber(PLAIN_DECIMAL, 'number').pipe(z.number().min(0).max(1));

/**
 * The API key is compared with what follows `Bearer ` in the header, which cannot contain
 * whitespace, and HTTP header values are Latin-1: a key with a blank or a non-ASCII
 * character could never match (every request 401). 16 characters is the floor because a
 * random 16-character key over the 64 base64url symbols is 96 bits — beyond online guessing,
 * all the more with the wrong-key throttle (AUTH_FAILURE_LIMIT) — while 8 characters of a
 * word-like key are not. The generated development key is 32 characters.
 */
export const MIN_API_KEY_LENGTH = 16;
const apiKey = z
  .string()
  .regex(/^[\x21-\x7e]*$/, 'must be printable ASCII without whitespace (it is sent in an HTTP header after "Bearer ")')
  .min(MIN_API_KEY_LENGTH, `must be at least ${MIN_API_KEY_LENGTH} characters`);

/** One browser origin as a browser sends it: scheme://host[:port], nothing after. */
function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === value;
  } catch {
    return false;
  }
}
const corsOrigins = z
  .string()
  .transform((value) => value.split(',').map((origin) => origin.trim()).filter((origin) => origin.length > 0))
  .refine((origins) => origins.every(isOrigin), {
    message: 'must be a comma-separated list of origins like https://app.example.com (scheme://host[:port], no path, no *)',
  });

/**
 * Which proxies' X-Forwarded-For Express may believe (its `trust proxy` setting): `false`
 * (default: the client address is the TCP peer), a number of hops, or a comma-separated list
 * of proxy addresses/subnets (and Express's names loopback, linklocal, uniquelocal). `true`
 * (believe any X-Forwarded-For) is refused: every client could then pick its own address and
 * step around the wrong-key throttle.
 */
export type TrustProxy = false | number | string[];
const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);
function isProxyAddress(value: string): boolean {
  if (PROXY_NAMES.has(value)) return true;
  const [address, prefix, extra] = value.split('/');
  if (extra !== undefined || address === undefined) return false;
  const family = isIP(address);
  if (family === 0) return false;
  if (prefix === undefined) return true;
  return PLAIN_INTEGER.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}
const trustProxy = z.string().transform((value, ctx): TrustProxy => {
  if (value === 'false') return false;
  if (PLAIN_INTEGER.test(value)) return Number(value);
  const list = value.split(',').map((part) => part.trim());
  if (list.length > 0 && list.every(isProxyAddress)) return list;
  ctx.addIssue({
    code: 'custom',
    message: 'must be false, a number of proxy hops, or a comma-separated list of proxy addresses/subnets (true is not accepted)',
  });
  return z.NEVER;
});

/** An OTLP/HTTP endpoint: an absolute http(s) URL. */
const otlpUrl = z
  .string()
  .trim()
  .refine((v) => {
    try {
      const url = new URL(v);
      return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
    } catch {
      return false;
    }
  }, 'must be an absolute http:// or https:// URL');

/** OpenTelemetry's own variable names (the spec's), validated like every other setting. */
const otelShape = {
  OTEL_SDK_DISABLED: booleanFromEnv.default(false),
  OTEL_TRACES_EXPORTER: z.enum(['otlp', 'none'], { message: 'expected otlp or none' }).default('otlp'),
  OTEL_EXPORTER_OTLP_ENDPOINT: otlpUrl.optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: otlpUrl.optional(),
  OTEL_EXPORTER_OTLP_PROTOCOL: z.enum(['http/protobuf', 'http/json'], { message: 'expected http/protobuf or http/json (gRPC is not supported)' }).optional(),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: z.enum(['http/protobuf', 'http/json'], { message: 'expected http/protobuf or http/json (gRPC is not supported)' }).optional(),
  OTEL_EXPORTER_OTLP_TIMEOUT: int(1, 600_000).default(10_000),
  OTEL_SERVICE_NAME: z.string().trim().min(1).optional(),
  OTEL_TRACES_SAMPLER: z
    .enum(['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'], {
      message: 'expected always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio',
    })
    .default('parentbased_always_on'),
  OTEL_TRACES_SAMPLER_ARG: plainNumber(PLAIN_DECIMAL, 'number').pipe(z.number().min(0, 'must be in [0, 1]').max(1, 'must be in [0, 1]')).optional(),
  // Larger than the spec's 5000 / 2048 / 512: the processor keeps one export in flight, so it
  // delivers at most a batch per export round trip; with those, a loaded service overflowed
  // its queue at 100 % sampling from ~1 200 req/s (npm run bench:tracing -- --delivery).
  OTEL_BSP_SCHEDULE_DELAY: int(0, 3_600_000).default(1_000),
  OTEL_BSP_EXPORT_TIMEOUT: int(1, 600_000).default(30_000),
  OTEL_BSP_MAX_QUEUE_SIZE: int(1, 1_000_000).default(8_192),
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE: int(1, 1_000_000).default(2_048),
  OTEL_LOG_LEVEL: z
    .string()
    .trim()
    .toLowerCase()
    .pipe(z.enum(['none', 'error', 'warn', 'info', 'debug', 'verbose', 'all'], { message: 'expected none, error, warn, info, debug, verbose or all' }))
    .default('warn'),
  OTEL_DIAG_LOG_INTERVAL_MS: int(0, 86_400_000).default(30_000),
  OTEL_SHUTDOWN_TIMEOUT_MS: int(1, 600_000).default(5_000),
  // Not an OTEL_* name, but the tracing preload (register.ts) needs it for the resource too.
  SERVICE_ENVIRONMENT: z.string().trim().min(1).default('development'),
};

/**
 * Continuous profiling (src/profiling): off unless asked for. The store is bounded by size
 * and by age, whichever bites first; a profile is cut every PROFILING_PERIOD_S seconds.
 * The slow path is the demo fault for the profiling walk: CPU burnt inside the model call
 * for users divisible by the divisor (0 = never).
 */
const profilingShape = {
  PROFILING_ENABLED: booleanFromEnv.default(false),
  PROFILING_HZ: int(1, 1000).default(100),
  PROFILING_CLOCK: z.enum(['cpu', 'wall'], { message: 'expected cpu or wall' }).default('cpu'),
  PROFILING_PERIOD_S: int(1, 3600).default(10),
  PROFILING_DIR: z.string().min(1).default('profiles-store'),
  PROFILING_MAX_MB: positiveNumber.default(256),
  PROFILING_MAX_AGE_MIN: int(1, 525_600).default(4_320),
  SLOW_USER_DIVISOR: int(0, 2 ** 31 - 1).default(0),
  SLOW_USER_MS: int(1, 10_000).default(200),
};


export type ProfilingConfig = ReturnType<typeof profilingConfig>;

function profilingConfig(e: z.infer<z.ZodObject<typeof profilingShape>>) {
  return {
    enabled: e.PROFILING_ENABLED,
    hz: e.PROFILING_HZ,
    /** wall: @datadog/pprof, samples every 1/hz s; cpu: the native sampler, every 1/hz s of CPU. */
    clock: e.PROFILING_CLOCK,
    /** A profile is cut every period. */
    periodMs: e.PROFILING_PERIOD_S * 1000,
    dir: e.PROFILING_DIR,
    maxBytes: Math.round(e.PROFILING_MAX_MB * 1024 * 1024),
    maxAgeMs: e.PROFILING_MAX_AGE_MIN * 60_000,
    slowUserDivisor: e.SLOW_USER_DIVISOR,
    slowUserMs: e.SLOW_USER_MS,
  };
}

/**
 * The model registry: MODEL_REFS pins what a bare model name serves, as comma-separated refs
 * (`knn@staging,popular@20261201T231820123Z-3f9c2a1b`; default: each model's production),
 * e.g. to profile one version. ADMIN_API_KEY guards POST /admin/models/reload (unset: no admin
 * endpoint; SIGHUP reloads either way); it must differ from API_KEY.
 */
const modelRefs = z.string().transform((value, ctx): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const ref of value.split(',').map((r) => r.trim()).filter((r) => r.length > 0)) {
    try {
      const parsed = parseModelRef(ref);
      if (!isModelName(parsed.model)) throw new Error(`unknown model ${parsed.model}`);
      if (out[parsed.model] !== undefined) throw new Error(`${parsed.model} is named twice`);
      out[parsed.model] = ref;
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: `${(error as Error).message} (expected comma-separated <model>@<alias|version>)` });
      return z.NEVER;
    }
  }
  return out;
});
const registryShape = {
  MODEL_REFS: modelRefs.optional(),
  ADMIN_API_KEY: apiKey.optional(),
};

const envSchema = z.object({
  PORT: int(0, 65535).default(8080),
  HOST: z.string().min(1).default('0.0.0.0'),
  API_KEY: apiKey.optional(),
  K_RECS: int(1, 1000).default(10),

  LOG_LEVEL: z.enum(['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly']).default('info'),
  LOG_DIR: z.string().min(1).default('logs'),
  LOG_FILE: z
    .string()
    .regex(/^[\w.-]+$/, 'must be a plain file name')
    .default('recoscope.ndjson'),
  LOG_FILE_ENABLED: booleanFromEnv.default(true),
  LOG_STDOUT: booleanFromEnv.default(true),
  LOG_FORMAT: z.enum(['auto', 'json', 'pretty'], { message: 'expected auto, json or pretty' }).default('auto'),
  LOG_MAX_SIZE_MB: positiveNumber.default(100),
  LOG_MAX_FILES: int(1, 1000).default(5),

  DATASET: z.string().min(1).default('synthetic'),
  DATASET_SKIP_MALFORMED: booleanFromEnv.default(false),
  SYNTHETIC_USERS: int(1, 50_000_000).default(20_000),
  SYNTHETIC_ITEMS: int(1, 10_000_000).default(2_000),
  SYNTHETIC_INTERACTIONS: int(1, 500_000_000).default(200_000),
  SYNTHETIC_SEED: int(0, 2 ** 31 - 1).default(42),

  ARTIFACTS_DIR: z.string().min(1).default('artifacts'),
  POPULAR_WINDOW_DAYS: positiveNumber.default(14),
  KNN_NEIGHBOURS: int(1, 10_000).default(50),
  KNN_BM25_K1: positiveNumber.default(1.2),
  KNN_BM25_B: unitInterval.default(0.75),

  FAULT_USER_DIVISOR: int(0, 2 ** 31 - 1).default(0),
  SHUTDOWN_TIMEOUT_MS: int(100, 600_000).default(10_000),

  LOG_BUFFER_MAX_MB: positiveNumber.default(16),
  LOG_REPORT_INTERVAL_MS: int(100, 3_600_000).default(10_000),
  LOG_WRITE_DELAY_MS: int(0, 1_000).default(5),
  HTTP_HEADERS_TIMEOUT_MS: int(100, 600_000).default(10_000),
  HTTP_REQUEST_TIMEOUT_MS: int(100, 3_600_000).default(30_000),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: int(100, 600_000).default(5_000),
  NODE_ENV: z.string().optional(),
  DOCS_ENABLED: booleanFromEnv.optional(),
  CORS_ORIGINS: corsOrigins.optional(),
  TRUST_PROXY: trustProxy.default(false),
  AUTH_FAILURE_LIMIT: int(0, 1_000_000).default(20),
  AUTH_FAILURE_WINDOW_MS: int(1_000, 86_400_000).default(60_000),
  METRICS_PORT: int(0, 65535).default(9464),

  // gRPC server (src/grpc/): off unless GRPC_PORT is set; 0 = any free port.
  GRPC_PORT: int(0, 65535).optional(),
  // Direct shipping of the log lines to Elasticsearch (winston-elasticsearch); off unless the URL is set.
  LOG_ELASTICSEARCH_URL: otlpUrl.optional(),
  LOG_ELASTICSEARCH_INDEX: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'must be a lower-case Elasticsearch index name').default('reco-logs'),
  LOG_ELASTICSEARCH_BUFFER_DOCS: int(1, 10_000_000).default(20_000),
  LOG_ELASTICSEARCH_FLUSH_MS: int(10, 60_000).default(1_000),
  // Worker processes (node:cluster): a number, or `auto` for one per available CPU.
  WORKERS: z.union([z.literal('auto'), int(1, 256)], { message: 'expected auto or an integer from 1 to 256' }).default(1),
  // Set by the supervisor for each worker it forks (1..WORKERS), never by hand.
  WORKER_SLOT: int(1, 256).optional(),

  // A/B experiments served through the reco route (src/experiments/): a JSON file, read and
  // validated at start-up; unset = no experiments.
  EXPERIMENTS_FILE: z.string().min(1).optional(),

  ...otelShape,
  ...profilingShape,
  ...registryShape,
});

export type Env = z.infer<typeof envSchema>;

const otelSchema = z.object(otelShape);
type OtelEnv = z.infer<typeof otelSchema>;

export type SamplerName = OtelEnv['OTEL_TRACES_SAMPLER'];

/*
 * Each setting is written twice: once in the schema above (name, validation, default) and
 * once in the mapping below (where it lands in Config). The types are derived from the
 * mapping (Config = ReturnType<typeof configFrom>), so there is no third copy to keep in step.
 */

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Empty strings count as unset, the way shells and compose files usually mean them. */
function withoutEmpty(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && value !== '') out[key] = value;
  }
  return out;
}

function configError(error: z.ZodError): ConfigError {
  // Name the variable but never echo its value: API_KEY could be the bad one.
  const problems = error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  return new ConfigError(`invalid configuration: ${problems.join('; ')}`);
}

/** The OTLP traces URL: the signal-specific variable as given, else `<base>/v1/traces` (the spec's rule). */
function tracesUrl(e: OtelEnv): string | undefined {
  if (e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT !== undefined) return e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (e.OTEL_EXPORTER_OTLP_ENDPOINT === undefined) return undefined;
  return `${e.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces`;
}

/** Tracing settings (OpenTelemetry's standard variables), consumed by src/observability/tracing. */
export type TracingConfig = ReturnType<typeof tracingConfig>;

function tracingConfig(e: OtelEnv) {
  const url = tracesUrl(e);
  return {
    /** On when an OTLP endpoint is set, unless OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none. */
    enabled: url !== undefined && !e.OTEL_SDK_DISABLED && e.OTEL_TRACES_EXPORTER !== 'none',
    /** Full URL spans are POSTed to (`…/v1/traces`); undefined when tracing is off. */
    tracesUrl: url,
    protocol: e.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? e.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf',
    exportTimeoutMs: e.OTEL_EXPORTER_OTLP_TIMEOUT,
    /** OTEL_SERVICE_NAME, else the package name: `service.name` of logs and traces. */
    serviceName: e.OTEL_SERVICE_NAME ?? PACKAGE.name,
    /** SERVICE_ENVIRONMENT: `service.environment` of logs, `deployment.environment` of traces. */
    serviceEnvironment: e.SERVICE_ENVIRONMENT,
    sampler: e.OTEL_TRACES_SAMPLER,
    /** The ratio of the traceidratio samplers (default 1). */
    samplerRatio: e.OTEL_TRACES_SAMPLER_ARG ?? 1,
    batch: {
      scheduledDelayMillis: e.OTEL_BSP_SCHEDULE_DELAY,
      exportTimeoutMillis: e.OTEL_BSP_EXPORT_TIMEOUT,
      maxQueueSize: e.OTEL_BSP_MAX_QUEUE_SIZE,
      maxExportBatchSize: Math.min(e.OTEL_BSP_MAX_EXPORT_BATCH_SIZE, e.OTEL_BSP_MAX_QUEUE_SIZE),
    },
    diagLogLevel: e.OTEL_LOG_LEVEL,
    diagLogIntervalMs: e.OTEL_DIAG_LOG_INTERVAL_MS,
    shutdownTimeoutMs: e.OTEL_SHUTDOWN_TIMEOUT_MS,
  };
}

/**
 * The tracing part alone, for the `--require` preload (register.ts), which runs before the
 * rest of the configuration is read. Throws ConfigError like loadConfig.
 */
export function loadTracingConfig(env: NodeJS.ProcessEnv = process.env): TracingConfig {
  const parsed = otelSchema.safeParse(withoutEmpty(env));
  if (!parsed.success) throw configError(parsed.error);
  return tracingConfig(parsed.data);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(withoutEmpty(env));
  if (!parsed.success) throw configError(parsed.error);
  const e = parsed.data;
  if (e.ADMIN_API_KEY !== undefined && e.ADMIN_API_KEY === e.API_KEY) {
    throw new ConfigError('invalid configuration: ADMIN_API_KEY: must differ from API_KEY');
  }
  if (e.HTTP_HEADERS_TIMEOUT_MS > e.HTTP_REQUEST_TIMEOUT_MS) {
    throw new ConfigError('invalid configuration: HTTP_HEADERS_TIMEOUT_MS: must not exceed HTTP_REQUEST_TIMEOUT_MS');
  }
  return configFrom(e);
}

export type Config = ReturnType<typeof configFrom>;
/** How the HTTP layer meets the outside world (docs page, browsers, proxies, guessers). */
export type HttpSettings = Config['http'];
export type ModelParams = Config['models'];
export type DatasetConfig = Config['dataset'];
/** The worker model (src/cluster/): how many processes serve, and which one this is. */
export type WorkerSettings = Config['workers'];

/** Where each validated variable lands; the one definition of Config's shape. */
function configFrom(e: Env) {
  return {
    port: e.PORT,
    host: e.HOST,
    /** Undefined when the user gave none: the server then makes a development key. */
    apiKey: e.API_KEY,
    kRecs: e.K_RECS,
    log: {
      level: e.LOG_LEVEL,
      dir: e.LOG_DIR,
      file: e.LOG_FILE,
      fileEnabled: e.LOG_FILE_ENABLED,
      stdout: e.LOG_STDOUT,
      /** stdout only (the file is always ECS JSON): `auto` = human-readable on a terminal. */
      format: e.LOG_FORMAT,
      maxSizeBytes: Math.round(e.LOG_MAX_SIZE_MB * 1024 * 1024),
      maxFiles: e.LOG_MAX_FILES,
      /** Per output (file, stdout): what may wait in memory before lines are dropped (counted). */
      bufferBytes: Math.round(e.LOG_BUFFER_MAX_MB * 1024 * 1024),
      /** How often dropped lines and write errors are reported. */
      reportIntervalMs: e.LOG_REPORT_INTERVAL_MS,
      /** Longest wait of a queued line for its write to start (batches writes; kill -9 loses at most this). */
      writeDelayMs: e.LOG_WRITE_DELAY_MS,
    },
    serviceEnvironment: e.SERVICE_ENVIRONMENT,
    serviceName: e.OTEL_SERVICE_NAME ?? PACKAGE.name,
    dataset: {
      /** `synthetic` (generated in memory), or a path to a MovieLens / Kion CSV. */
      source: e.DATASET,
      skipMalformed: e.DATASET_SKIP_MALFORMED,
      synthetic: {
        users: e.SYNTHETIC_USERS,
        items: e.SYNTHETIC_ITEMS,
        interactions: e.SYNTHETIC_INTERACTIONS,
        seed: e.SYNTHETIC_SEED,
      },
    },
    artifactsDir: e.ARTIFACTS_DIR,
    models: {
      popularWindowDays: e.POPULAR_WINDOW_DAYS,
      knnNeighbours: e.KNN_NEIGHBOURS,
      bm25K1: e.KNN_BM25_K1,
      bm25B: e.KNN_BM25_B,
    },
    faultUserDivisor: e.FAULT_USER_DIVISOR,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    tracing: tracingConfig(e),
    http: {
      /** Server timeouts: headers, whole request, idle keep-alive connection. */
      headersTimeoutMs: e.HTTP_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS,
      keepAliveTimeoutMs: e.HTTP_KEEP_ALIVE_TIMEOUT_MS,
      /** Serve `/docs` (the OpenAPI document at `/openapi.json` is always served). */
      docsEnabled: e.DOCS_ENABLED ?? e.NODE_ENV !== 'production',
      /** Browser origins allowed by CORS; empty = CORS off (no Access-Control-* headers). */
      corsOrigins: e.CORS_ORIGINS ?? [],
      trustProxy: e.TRUST_PROXY,
      /** 401s per client address per window before it is answered 429; 0 = throttle off. */
      authFailureLimit: e.AUTH_FAILURE_LIMIT,
      authFailureWindowMs: e.AUTH_FAILURE_WINDOW_MS,
    },
    /** Port of the Prometheus /metrics listener (same host); 0 means no metrics at all. */
    metricsPort: e.METRICS_PORT,
    profiling: profilingConfig(e),
    /** The gRPC server (same host as HTTP); port undefined = no gRPC server. */
    grpc: { port: e.GRPC_PORT },
    /** Direct shipping to Elasticsearch; undefined (the default): logs reach it through Filebeat only. */
    logElasticsearch:
      e.LOG_ELASTICSEARCH_URL === undefined
        ? undefined
        : { url: e.LOG_ELASTICSEARCH_URL, index: e.LOG_ELASTICSEARCH_INDEX, maxDocs: e.LOG_ELASTICSEARCH_BUFFER_DOCS, flushMs: e.LOG_ELASTICSEARCH_FLUSH_MS },
    /** Per model name, the ref its bare name serves (MODEL_REFS); unlisted models serve their production. */
    modelRefs: e.MODEL_REFS ?? {},
    /** Key of POST /admin/models/reload; undefined: no admin endpoint. */
    adminApiKey: e.ADMIN_API_KEY,
    /** WORKERS (1: one process, no supervisor; `auto`: one per CPU) and, in a forked worker, its slot. */
    workers: { count: e.WORKERS, slot: e.WORKER_SLOT },
    /** Path of the experiments file (src/experiments/config.ts); undefined = no experiments. */
    experimentsFile: e.EXPERIMENTS_FILE,
  };
}

/** Every environment variable the service reads (the schema's keys). */
export const SERVICE_ENV_VARIABLES: readonly string[] = Object.keys(envSchema.shape);

/** Each variable's value when unset, as the schema parses it (undefined: no default). */
export const ENV_DEFAULTS: Readonly<Record<string, unknown>> = envSchema.parse({});

/** The configuration with no variable set: the one place defaults come from. */
export const DEFAULT_CONFIG: Config = loadConfig({});

/** DEFAULT_CONFIG's HTTP settings, docs off: a bare createApp is not a development server. */
export const DEFAULT_HTTP_SETTINGS: HttpSettings = { ...DEFAULT_CONFIG.http, docsEnabled: false };
