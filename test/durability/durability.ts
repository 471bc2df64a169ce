/**
 * Shared pieces of the log-durability tests (logs-durability.test.ts): closed-loop load with an
 * exact count of the 2xx answers received, reading every NDJSON file of a log directory
 * (rotated ones included) while counting lines that do not parse, and the service's RSS.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { freePort, probe } from '../../loadtest/child-server';
import { ACCESS_DATASET } from '../../src/contracts';
import { PROJECT_ROOT, SERVICE_MAIN_JS } from '../../src/paths';
import { field, serviceEnv, type LogRecord } from '../helpers/service';
import { sleep } from '../helpers/wait';

export interface LoadHandle {
  /** 2xx answers received so far. */
  ok(): number;
  /** Every answer received so far, any status. */
  answered(): number;
  /** Stops the load (idempotent) and resolves once autocannon has finished. */
  stop(): Promise<void>;
  /** Resolves when the run ends by itself (duration) or after stop(). */
  done: Promise<void>;
}

export interface LoadSpec {
  url: string;
  apiKey: string;
  connections: number;
  /** Upper bound on the run; stop() ends it earlier. */
  durationSeconds: number;
  /** Sent as User-Agent, so the run's access lines can be told apart from others. */
  userAgent: string;
  paths?: string[];
}

/** Closed-loop keep-alive load (autocannon), counting every 2xx answer it receives. */
export function startLoad(spec: LoadSpec): LoadHandle {
  let ok = 0;
  let answered = 0;
  const paths = spec.paths ?? ['/reco/knn/1', '/reco/popular/2', '/reco/knn/3', '/reco/knn/4'];
  const instance = autocannon({
    url: spec.url,
    connections: spec.connections,
    duration: spec.durationSeconds,
    headers: { authorization: `Bearer ${spec.apiKey}`, 'user-agent': spec.userAgent },
    requests: paths.map((path) => ({ method: 'GET' as const, path })),
    timeout: 10,
  }, () => {
    // Results are counted from 'response' events; the summary is not needed.
  });
  instance.on('response', (_client, statusCode) => {
    answered++;
    if (statusCode >= 200 && statusCode < 300) ok++;
  });
  const done = new Promise<void>((resolveDone) => {
    instance.once('done', () => resolveDone());
  });
  let stopped = false;
  return {
    ok: () => ok,
    answered: () => answered,
    done,
    stop: async () => {
      if (!stopped) {
        stopped = true;
        instance.stop();
      }
      await done;
    },
  };
}

export interface LogDirContents {
  files: string[];
  records: LogRecord[];
  /** Lines that are not JSON (a torn or interleaved write). */
  unparsable: number;
}

/** Every line of every NDJSON file in `dir` (the live file and the rotated ones). */
export function readLogDirLines(dir: string): LogDirContents {
  const out: LogDirContents = { files: [], records: [], unparsable: 0 };
  if (!existsSync(dir)) return out;
  out.files = readdirSync(dir)
    .filter((f) => f.includes('.ndjson'))
    .sort();
  for (const file of out.files) {
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
      if (line.length === 0) continue;
      try {
        out.records.push(JSON.parse(line) as LogRecord);
      } catch {
        out.unparsable++;
      }
    }
  }
  return out;
}

/** Parses NDJSON text (e.g. collected stdout), counting lines that are not JSON. */
export function parseLines(text: string): { records: LogRecord[]; unparsable: number } {
  const records: LogRecord[] = [];
  let unparsable = 0;
  for (const line of text.split('\n')) {
    if (line.length === 0) continue;
    try {
      records.push(JSON.parse(line) as LogRecord);
    } catch {
      unparsable++;
    }
  }
  return { records, unparsable };
}

/** Access lines of one load run (by its User-Agent) with a 2xx status. */
export function okAccessLines(records: LogRecord[], userAgent: string): LogRecord[] {
  return records.filter(
    (r) =>
      field(r, 'event.dataset') === ACCESS_DATASET &&
      field(r, 'user_agent.original') === userAgent &&
      (field(r, 'http.response.status_code') as number) < 300,
  );
}

/** Resident set size of a process in bytes (Linux /proc), or undefined once it is gone. */
export function rssBytes(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /VmRSS:\s+(\d+) kB/.exec(status);
    return match?.[1] === undefined ? undefined : Number(match[1]) * 1024;
  } catch {
    return undefined;
  }
}

export { sleep };

export interface SpawnedService {
  url: string;
  child: ChildProcess;
  logDir: string;
  /** Where the service's stdout goes (a regular file), when `stdout: 'file'`. */
  stdoutPath: string | undefined;
  stderr(): string;
  exited: Promise<number | null>;
  /** Sends the signal (if still running) and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface SpawnOptions {
  env: Record<string, string>;
  /**
   * `file`: stdout is a regular file (a fast reader: counts are exact and cheap);
   * `blocked`: stdout is a pipe nobody reads, so the stdout output stalls once the pipe is full.
   */
  stdout: 'file' | 'blocked';
  logDir?: string;
  timeoutMs?: number;
}

/** Runs the compiled service with its stdout where the test wants it; ready once /health answers. */
export async function spawnService(options: SpawnOptions): Promise<SpawnedService> {
  const logDir = options.logDir ?? mkdtempSync(join(tmpdir(), 'recoscope-durability-'));
  const port = await freePort();
  const env = serviceEnv(port, logDir, options.env);
  let stdoutPath: string | undefined;
  let stdoutFd: number | undefined;
  if (options.stdout === 'file') {
    stdoutPath = join(mkdtempSync(join(tmpdir(), 'recoscope-stdout-')), 'stdout.ndjson');
    stdoutFd = openSync(stdoutPath, 'a');
  }
  const child = spawn(process.execPath, [SERVICE_MAIN_JS], {
    cwd: PROJECT_ROOT,
    env,
    stdio: ['ignore', stdoutFd ?? 'pipe', 'pipe'],
  });
  if (stdoutFd !== undefined) closeSync(stdoutFd);
  // 'blocked': the pipe is never read, so it fills (64 KiB) and the service's writes to it stall.
  if (options.stdout === 'blocked') child.stdout?.pause();
  let stderrText = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderrText += chunk.toString('utf8');
    if (stderrText.length > 1_000_000) stderrText = stderrText.slice(-500_000);
  });
  // 'exit' can come before the last of stderr has been read (a loaded CI machine: the crash
  // test's final stderr line was not there yet): resolve once stderr has ended too, bounded in
  // case a process it started still holds the pipe open.
  const stderrEnded = new Promise<void>((resolveEnd) => child.stderr?.once('close', () => resolveEnd()) ?? resolveEnd());
  const exited = new Promise<number | null>((resolveExit) =>
    child.once('exit', (code) => {
      void Promise.race([stderrEnded, sleep(2_000)]).then(() => resolveExit(code));
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let ready = false;
  while (!ready && Date.now() < deadline && child.exitCode === null) {
    const status = await probe(`${url}/health`, 1_000);
    ready = status === 200;
    if (!ready) await sleep(100);
  }
  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };
  if (!ready) {
    await stop('SIGKILL');
    throw new Error(`service not ready: exit ${child.exitCode}\n${stderrText}`);
  }
  return { url, child, logDir, stdoutPath, stderr: () => stderrText, exited, stop };
}

/** The service's stdout so far (stdout: 'file'). */
export function readStdout(service: SpawnedService): { records: LogRecord[]; unparsable: number } {
  if (service.stdoutPath === undefined) return { records: [], unparsable: 0 };
  return parseLines(readFileSync(service.stdoutPath, 'utf8'));
}
