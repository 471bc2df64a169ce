/**
 * Runs the real compiled service (dist/src/main.js) as a child process, the way a user
 * does, and finds its URL from the `listening` log line on stdout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

export const PROJECT_ROOT = resolve(__dirname, '..', '..', '..');
export const MAIN_JS = join(PROJECT_ROOT, 'dist', 'src', 'main.js');

/** A small synthetic dataset: trains in well under a second, so tests start fast. */
export const SMALL_DATASET_ENV: Record<string, string> = {
  DATASET: 'synthetic',
  SYNTHETIC_USERS: '2000',
  SYNTHETIC_ITEMS: '300',
  SYNTHETIC_INTERACTIONS: '30000',
  SYNTHETIC_SEED: '7',
};

export interface LogRecord {
  [key: string]: unknown;
}

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
    LOG_DIR: logDir,
    ARTIFACTS_DIR: join(logDir, 'no-artifacts'),
    ...SMALL_DATASET_ENV,
    ...options.env,
  };
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), MAIN_JS], {
    cwd: PROJECT_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdoutRecords: LogRecord[] = [];
  let stderrText = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderrText += chunk.toString('utf8');
  });
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));

  const url = await new Promise<string>((resolveUrl, rejectUrl) => {
    const timer = setTimeout(
      () => rejectUrl(new Error(`service did not report listening within ${options.timeoutMs ?? 60_000} ms\n${stderrText}`)),
      options.timeoutMs ?? 60_000,
    );
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      let record: LogRecord;
      try {
        record = JSON.parse(line) as LogRecord;
      } catch {
        return;
      }
      stdoutRecords.push(record);
      const event = record.event as { action?: string } | undefined;
      if (event?.action === 'listening') {
        clearTimeout(timer);
        resolveUrl((record.recoscope as { url: string }).url);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      rejectUrl(new Error(`service exited with ${code} before listening\n${stderrText}`));
    });
  });

  const logFile = join(logDir, env.LOG_FILE ?? 'recoscope.ndjson');
  return {
    url,
    child,
    logDir,
    logFile,
    stdoutRecords,
    stderr: () => stderrText,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
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
  return records.filter((r) => field(r, 'event.dataset') === 'recoscope.access');
}
