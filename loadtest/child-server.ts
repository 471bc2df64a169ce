/**
 * Start an HTTP server as a child process and find out where it listens.
 *
 * Shared by the test helpers (test/helpers/service.ts), the benchmarks (bench/) and any
 * tool that runs the compiled service the way a user does. Two ways to learn the URL:
 *  - `stdout` (default): the child prints JSON lines; the first with
 *    `"event":{"action":"listening"}` carries `"recoscope":{"url": ...}` (the service's own
 *    `listening` log line; the benchmark's bare servers print the same shape);
 *  - `poll`: the caller chose the port (see `freePort`) and the child is ready once
 *    `GET <url><path>` answers 2xx. Needed when the service's stdout logging is off
 *    (`LOG_STDOUT=false`), because then nothing is printed at all.
 *
 * Optionally pins the child to one CPU with `taskset -c` (see loadtest/cpu.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { pinnedCommand } from './cpu';

import { PROJECT_ROOT } from '../src/paths';

export interface LogRecord {
  [key: string]: unknown;
}

export type Readiness = { kind: 'stdout' } | { kind: 'poll'; url: string; path: string };

export interface ChildServerOptions {
  /** Executable; defaults to this Node binary. */
  command?: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
  /** How to learn the URL; default `stdout`. */
  readiness?: Readiness;
  timeoutMs?: number;
  /** Run under `taskset -c <cpu>` when taskset is available. */
  cpu?: number;
  /** Keep at most this many characters of stderr (the tail); default 64 KiB. */
  stderrLimit?: number;
  /** Keep the parsed stdout JSON lines (default true; benchmarks turn it off). */
  keepStdout?: boolean;
}

export interface ChildServer {
  url: string;
  child: ChildProcess;
  /** Every JSON line printed on stdout so far (empty with keepStdout: false). */
  stdoutRecords: LogRecord[];
  stderr: () => string;
  /** Resolves with the exit code (null when killed by a signal) once the process exited. */
  exited: Promise<number | null>;
  /** Whether the child really runs under taskset. */
  pinned: boolean;
  stop(this: void, signal?: NodeJS.Signals): Promise<number | null>;
}

/** The listening URL in a JSON log line, or undefined when the line is not the listening one. */
export function listeningUrl(record: LogRecord): string | undefined {
  const event = record.event as { action?: unknown } | undefined;
  if (event?.action !== 'listening') return undefined;
  const url = (record.recoscope as { url?: unknown } | undefined)?.url;
  return typeof url === 'string' ? url : undefined;
}

/** A port that was free a moment ago on `host` (the OS picks it; tiny race, fine for tests). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolveListen, rejectListen) => {
    server.once('error', rejectListen);
    server.listen(0, host, () => resolveListen());
  });
  const address = server.address();
  await new Promise<void>((resolveClose) => server.close(() => resolveClose()));
  if (address === null || typeof address === 'string') throw new Error('could not determine a free port');
  return address.port;
}

/** One GET; resolves with the status code, or undefined on a connection error. */
export function probe(url: string, timeoutMs = 2_000): Promise<number | undefined> {
  return new Promise((resolveProbe) => {
    const req = request(url, { method: 'GET', agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolveProbe(res.statusCode));
      res.on('error', () => resolveProbe(undefined));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolveProbe(undefined));
    req.end();
  });
}

export async function startChildServer(options: ChildServerOptions): Promise<ChildServer> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const stderrLimit = options.stderrLimit ?? 64 * 1024;
  const keepStdout = options.keepStdout ?? true;
  const readiness = options.readiness ?? { kind: 'stdout' };
  const { command, args, pinned } = pinnedCommand(options.cpu, options.command ?? process.execPath, options.args);
  const child = spawn(command, args, {
    cwd: options.cwd ?? PROJECT_ROOT,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdoutRecords: LogRecord[] = [];
  let stderrText = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderrText += chunk.toString('utf8');
    if (stderrText.length > stderrLimit * 2) stderrText = stderrText.slice(-stderrLimit);
  });
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  // A spawn failure (e.g. command not found) is reported as an exit, never as an unhandled error.
  const spawnError = new Promise<Error>((resolveError) => child.once('error', resolveError));

  let resolvedUrl: string | undefined;
  const lines = createInterface({ input: child.stdout });
  let onUrl: ((url: string) => void) | undefined;
  lines.on('line', (line) => {
    if (!keepStdout && resolvedUrl !== undefined) return;
    let record: LogRecord;
    try {
      record = JSON.parse(line) as LogRecord;
    } catch {
      return;
    }
    if (typeof record !== 'object' || record === null) return;
    if (keepStdout) stdoutRecords.push(record);
    const url = listeningUrl(record);
    if (url !== undefined && resolvedUrl === undefined) {
      resolvedUrl = url;
      onUrl?.(url);
    }
  });

  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };

  let timer: NodeJS.Timeout | undefined;
  let polling = true;
  try {
    const url = await new Promise<string>((resolveUrl, rejectUrl) => {
      timer = setTimeout(
        () => rejectUrl(new Error(`child did not become ready within ${timeoutMs} ms\n${stderrText}`)),
        timeoutMs,
      );
      void exited.then((code) => rejectUrl(new Error(`child exited with ${code} before it was ready\n${stderrText}`)));
      void spawnError.then((error) => rejectUrl(new Error(`cannot start ${command}: ${error.message}`)));
      if (readiness.kind === 'stdout') {
        if (resolvedUrl !== undefined) resolveUrl(resolvedUrl);
        onUrl = resolveUrl;
      } else {
        const target = readiness.url.replace(/\/$/, '') + readiness.path;
        const poll = async (): Promise<void> => {
          while (polling) {
            const status = await probe(target, 1_000);
            if (status !== undefined && status >= 200 && status < 300) {
              resolveUrl(readiness.url.replace(/\/$/, ''));
              return;
            }
            await new Promise((r) => setTimeout(r, 50));
          }
        };
        void poll();
      }
    });
    return { url, child, stdoutRecords, stderr: () => stderrText, exited, pinned, stop };
  } catch (error) {
    await stop('SIGKILL');
    throw error;
  } finally {
    polling = false;
    clearTimeout(timer);
  }
}
