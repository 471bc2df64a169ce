/**
 * Runs the real compiled service (dist/src/main.js) as a child process, the way a user
 * does, and finds its URL from the `listening` log line on stdout (the process handling is
 * loadtest/child-server.ts, shared with the benchmarks).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SERVICE_MAIN_JS } from '../../src/paths';
import { startChildServer, type ChildServer, type LogRecord } from '../../loadtest/child-server';
import { ACCESS_DATASET } from '../../src/contracts';

export type { LogRecord };

/** A small synthetic dataset: trains in well under a second, so tests start fast. */
export const SMALL_DATASET_ENV: Record<string, string> = {
  DATASET: 'synthetic',
  SYNTHETIC_USERS: '2000',
  SYNTHETIC_ITEMS: '300',
  SYNTHETIC_INTERACTIONS: '30000',
  SYNTHETIC_SEED: '7',
};

export interface RunningService {
  url: string;
  child: ChildProcess;
  logDir: string;
  logFile: string;
  /** Every JSON line the service printed on stdout so far. */
  stdoutRecords: LogRecord[];
  stderr: () => string;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface StartOptions {
  env?: Record<string, string>;
  /** Extra node flags, e.g. --require for tracing. */
  nodeArgs?: string[];
  timeoutMs?: number;
}

export async function startService(options: StartOptions = {}): Promise<RunningService> {
  const logDir = options.env?.LOG_DIR ?? mkdtempSync(join(tmpdir(), 'recoscope-logs-'));
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    PORT: '0',
    HOST: '127.0.0.1',
    // No metrics listener unless a test asks for one on a free port: the default 9464 would
    // collide between services (and with other test runs on the machine).
    METRICS_PORT: '0',
    LOG_DIR: logDir,
    ARTIFACTS_DIR: join(logDir, 'no-artifacts'),
    ...SMALL_DATASET_ENV,
    ...options.env,
  };
  const timeoutMs = options.timeoutMs ?? 60_000;
  let started: ChildServer;
  try {
    started = await startChildServer({
      args: [...(options.nodeArgs ?? []), SERVICE_MAIN_JS],
      env,
      timeoutMs,
      stderrLimit: Number.POSITIVE_INFINITY,
    });
  } catch (error) {
    throw new Error(`service did not report listening: ${(error as Error).message}`);
  }
  const { url, child, stdoutRecords, exited } = started;

  const logFile = join(logDir, env.LOG_FILE ?? 'recoscope.ndjson');
  return {
    url,
    child,
    logDir,
    logFile,
    stdoutRecords,
    stderr: started.stderr,
    exited,
    stop: (signal?: NodeJS.Signals) => started.stop(signal),
  };
}

export function readLogFile(path: string): LogRecord[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as LogRecord);
}

/** Reads a dotted ECS path from a nested or dotted-key record ("http.response.status_code"). */
export function field(record: LogRecord, path: string): unknown {
  if (path in record) return record[path];
  let node: unknown = record;
  const parts = path.split('.');
  for (let i = 0; i < parts.length; i++) {
    if (typeof node !== 'object' || node === null) return undefined;
    const obj = node as Record<string, unknown>;
    // ECS writers mix nesting and dotted keys ("log.level" next to {"event": {...}}).
    const rest = parts.slice(i).join('.');
    if (rest in obj) return obj[rest];
    node = obj[parts[i]!];
  }
  return node;
}

export function accessRecords(records: LogRecord[]): LogRecord[] {
  return records.filter((r) => field(r, 'event.dataset') === ACCESS_DATASET);
}
