/**
 * Every setting of the service, read from the environment once at start-up and validated,
 * so a bad value stops the process with one clear line instead of failing mid-request.
 * The README's configuration table documents exactly these variables.
 */
import { z } from 'zod';

const booleanFromEnv = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'expected true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const positiveNumber = z.coerce.number().positive();

const envSchema = z.object({
  PORT: int(0, 65535).default(8080),
  HOST: z.string().min(1).default('0.0.0.0'),
  API_KEY: z.string().min(8, 'must be at least 8 characters').optional(),
  K_RECS: int(1, 1000).default(10),

  LOG_LEVEL: z.enum(['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly']).default('info'),
  LOG_DIR: z.string().min(1).default('logs'),
  LOG_FILE: z
    .string()
    .regex(/^[\w.-]+$/, 'must be a plain file name')
    .default('recoscope.ndjson'),
  LOG_FILE_ENABLED: booleanFromEnv.default(true),
  LOG_STDOUT: booleanFromEnv.default(true),
  LOG_MAX_SIZE_MB: positiveNumber.default(100),
  LOG_MAX_FILES: int(1, 1000).default(5),

  SERVICE_ENVIRONMENT: z.string().min(1).default('development'),

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
  KNN_BM25_B: z.coerce.number().min(0).max(1).default(0.75),

  FAULT_USER_DIVISOR: int(0, 2 ** 31 - 1).default(0),
  SHUTDOWN_TIMEOUT_MS: int(100, 600_000).default(10_000),

  METRICS_PORT: int(0, 65535).default(9464),
});

export type Env = z.infer<typeof envSchema>;

export interface ModelParams {
  popularWindowDays: number;
  knnNeighbours: number;
  bm25K1: number;
  bm25B: number;
}

export interface DatasetConfig {
  /** `synthetic` (generated in memory), or a path to a MovieLens / Kion CSV. */
  source: string;
  skipMalformed: boolean;
  synthetic: { users: number; items: number; interactions: number; seed: number };
}

export interface Config {
  port: number;
  host: string;
  /** Undefined when the user gave none: the server then makes a development key. */
  apiKey: string | undefined;
  kRecs: number;
  log: {
    level: Env['LOG_LEVEL'];
    dir: string;
    file: string;
    fileEnabled: boolean;
    stdout: boolean;
    maxSizeBytes: number;
    maxFiles: number;
  };
  serviceEnvironment: string;
  dataset: DatasetConfig;
  artifactsDir: string;
  models: ModelParams;
  faultUserDivisor: number;
  shutdownTimeoutMs: number;
  /** Port of the Prometheus /metrics listener (same host); 0 means no metrics at all. */
  metricsPort: number;
}

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

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(withoutEmpty(env));
  if (!parsed.success) {
    // Name the variable but never echo its value: API_KEY could be the bad one.
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  return {
    port: e.PORT,
    host: e.HOST,
    apiKey: e.API_KEY,
    kRecs: e.K_RECS,
    log: {
      level: e.LOG_LEVEL,
      dir: e.LOG_DIR,
      file: e.LOG_FILE,
      fileEnabled: e.LOG_FILE_ENABLED,
      stdout: e.LOG_STDOUT,
      maxSizeBytes: Math.round(e.LOG_MAX_SIZE_MB * 1024 * 1024),
      maxFiles: e.LOG_MAX_FILES,
    },
    serviceEnvironment: e.SERVICE_ENVIRONMENT,
    dataset: {
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
    metricsPort: e.METRICS_PORT,
  };
}
