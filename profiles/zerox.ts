/**
 * Running the compiled service under 0x (v6) and turning what it recorded into a flamegraph
 * and a stack tree.
 *
 * 0x's default mode needs no kernel tracing: it starts `node --prof` (V8's tick profiler,
 * about one sample per millisecond of CPU) with its preloads, one of which makes the
 * service exit on SIGINT/SIGTERM straight away so V8 flushes its log. 0x itself waits on
 * SIGINT for the service to exit, then converts the V8 log with `node --prof-process
 * --preprocess` (V8's own tool) into `isolate-…-v8.log.json`.
 *
 * Two passes, as 0x documents them:
 *  1. `0x --collect-only`: profile the service; we stop it by sending SIGINT to the whole
 *     process group (0x and the service, exactly what Ctrl-C in a terminal does);
 *  2. `0x --visualize-only <dir> --collect-delay <ms> --tree-debug`: render 0x's flamegraph
 *     HTML from the preprocessed log, leaving out the samples before the measured phase
 *     (start-up, training, warm-up), and write 0x's stack tree (`stacks.<pid>.json`), from
 *     which the folded stacks are derived — so they hold exactly what the HTML shows.
 * Pass 2 converts the V8 log again (0x cannot reuse pass 1's conversion, see
 * prepareForVisualize); that is most of the time a profile spends after the load.
 */
import { existsSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { probe } from '../loadtest/child-server';
import type { ZeroXNode } from './folded';
import { groupAlive, groupMembers, killGroup, releaseGroup, signalGroup, sleep, spawnGroup } from './groups';

export const ZEROX_CMD = require.resolve('0x/cmd.js');
export const ZEROX_VERSION = (JSON.parse(readFileSync(require.resolve('0x/package.json'), 'utf8')) as { version: string }).version;

export class ServiceStartError extends Error {
  override name = 'ServiceStartError';
}

export class ZeroXError extends Error {
  override name = 'ZeroXError';
}

export interface ZeroXSessionOptions {
  /** The script 0x runs under `node --prof` (dist/src/main.js). */
  script: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Where the service listens (127.0.0.1); readiness is GET /health answering 2xx. */
  url: string;
  /** 0x's --output-dir for pass 1. */
  collectDir: string;
  /** 0x's --working-dir: where V8 writes its log while the service runs. */
  workDir: string;
  readyTimeoutMs: number;
  /** The service's NDJSON log file, read for the reason when it fails to start. */
  logFile?: string;
  signal?: AbortSignal;
}

export interface ZeroXSession {
  pgid: number;
  url: string;
  /** Date.now() when 0x reported that the profiled service had started. */
  profilingSinceMs: number;
  /** Milliseconds from spawning 0x to the service answering /health. */
  startupMs: number;
  /** SIGINT to the group, then wait for 0x to finish its collect pass (bounded, escalating). */
  stop(): Promise<void>;
  /** Kills everything at once (failure paths). */
  kill(): Promise<void>;
  stderrTail(): string;
}

const TAIL_LIMIT = 64 * 1024;

function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex -- terminal escape sequences are control characters
  return text.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '');
}

/**
 * 0x's status messages (single-line-log: no newline, so the service's own stderr output is
 * appended to them on the same line).
 */
const ZEROX_STATUS =
  /🔥\s*(?:Profiling|Waiting for subprocess to exit\.\.\.|Process exited, generating flamegraph|Stats collected in folder \S*|Flamegraph generated in|Creating flamegraph from \S*|Closing subprocess is taking a long time[^\n]*?force close|Force closing subprocess\.\.\.)/g;

/** The last line of 0x's stderr that is not 0x's own status — usually the service's. */
export function lastServiceLine(stderr: string): string | undefined {
  const lines = stripAnsi(stderr)
    .replace(ZEROX_STATUS, '\n')
    .split(/\r?\n|\r/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^Target subprocess error/.test(l) && !/^\(Use `node --trace/.test(l));
  return lines[lines.length - 1];
}

/** The service's last error log record as one line ("cannot listen on …: listen EADDRINUSE …"). */
export function lastLoggedError(logFile: string | undefined): string | undefined {
  if (logFile === undefined || !existsSync(logFile)) return undefined;
  let found: string | undefined;
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (!line.includes('"error"')) continue;
    try {
      const record = JSON.parse(line) as Record<string, unknown>;
      const level = record['log.level'] ?? (record.log as { level?: unknown } | undefined)?.level;
      if (level !== 'error') continue;
      const error = record.error as { message?: unknown } | undefined;
      const message = typeof record.message === 'string' ? record.message : 'error';
      found = typeof error?.message === 'string' && !message.includes(error.message) ? `${message}: ${error.message}` : message;
    } catch {
      // not JSON: ignore
    }
  }
  return found;
}

export async function startUnderZeroX(options: ZeroXSessionOptions): Promise<ZeroXSession> {
  const spawnedAt = Date.now();
  const child = spawnGroup(
    process.execPath,
    [ZEROX_CMD, '--collect-only', '--output-dir', options.collectDir, '--working-dir', options.workDir, '--', process.execPath, options.script],
    { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const pgid = child.pid;
  if (pgid === undefined) throw new ZeroXError('could not start 0x');

  let stderr = '';
  let profilingSinceMs: number | undefined;
  let serviceExited = false;
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
    if (stderr.length > 2 * TAIL_LIMIT) stderr = stderr.slice(-TAIL_LIMIT);
    if (profilingSinceMs === undefined && stderr.includes('Profiling')) profilingSinceMs = Date.now();
    if (stderr.includes('Process exited')) serviceExited = true;
  });
  // The service's stdout reaches us through 0x; drain it so it never blocks on a full pipe.
  child.stdout?.resume();
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolveExit) =>
    child.once('exit', (code, signal) => {
      exitCode = code ?? (signal !== null ? 128 : null);
      resolveExit(exitCode);
    }),
  );
  child.once('error', () => undefined);

  const kill = async (): Promise<void> => {
    await killGroup(pgid);
  };

  const failure = (what: string): ServiceStartError => {
    const reason = lastLoggedError(options.logFile) ?? lastServiceLine(stderr);
    return new ServiceStartError(reason === undefined ? what : `${what}: ${reason}`);
  };

  // Ready when /health answers 2xx; failed when 0x (and so the service) exits first.
  const deadline = spawnedAt + options.readyTimeoutMs;
  for (;;) {
    if (exitCode !== undefined || serviceExited) {
      await Promise.race([exited, sleep(2_000)]);
      await kill();
      const code = /Target subprocess error, code: (\d+)/.exec(stripAnsi(stderr))?.[1];
      throw failure(`the service exited${code === undefined ? '' : ` with code ${code}`} before it was ready`);
    }
    if (options.signal?.aborted === true) {
      await kill();
      throw new ServiceStartError('interrupted while the service was starting');
    }
    if (Date.now() > deadline) {
      await kill();
      throw failure(`the service did not answer ${options.url}/health within ${Math.round(options.readyTimeoutMs / 1000)} s`);
    }
    const status = await probe(`${options.url}/health`, 1_000);
    if (status !== undefined && status >= 200 && status < 300) break;
    await sleep(100);
  }
  const startupMs = Date.now() - spawnedAt;

  const stop = async (): Promise<void> => {
    // Both get SIGINT: the service exits at once (0x's soft-exit preload), 0x goes on to
    // convert the V8 log. Escalate only while the service is still there.
    signalGroup(pgid, 'SIGINT');
    const serviceDeadline = Date.now() + 15_000;
    while (!serviceExited && exitCode === undefined && Date.now() < serviceDeadline) await sleep(50);
    if (!serviceExited && exitCode === undefined) {
      for (const pid of groupMembers(pgid)) if (pid !== pgid) signalGroup(pid, 'SIGKILL');
    }
    const code = await Promise.race([exited, sleep(300_000).then(() => 'timeout' as const)]);
    if (code === 'timeout') {
      await kill();
      throw new ZeroXError('0x did not finish converting the V8 log within 5 minutes');
    }
    await releaseGroup(pgid);
    if (code !== 0) throw new ZeroXError(`0x --collect-only failed (exit ${code}): ${lastServiceLine(stderr) ?? 'no message'}`);
  };

  return {
    pgid,
    url: options.url,
    profilingSinceMs: profilingSinceMs ?? spawnedAt,
    startupMs,
    stop,
    kill,
    stderrTail: () => stripAnsi(stderr).slice(-4096),
  };
}

/**
 * After pass 1: leave V8's raw log as the only input 0x --visualize-only will find. (0x also
 * accepts an `isolate-…-v8.json`, but v6 runs every input through its line-length filter and
 * `--prof-process` again, which garbles JSON; the raw log is what works.)
 * Returns the raw log's path.
 */
export function prepareForVisualize(collectDir: string): string {
  const files = readdirSync(collectDir);
  const log = files.find((f) => /^isolate-.*-v8\.log$/.test(f));
  if (log === undefined) throw new ZeroXError(`0x left no V8 log in ${collectDir} (found: ${files.join(', ') || 'nothing'})`);
  for (const f of files) {
    if (f.endsWith('.preprocess-ready') || f.endsWith('.log.json')) rmSync(join(collectDir, f), { force: true });
  }
  // 0x's merged view drops every frame it believes V8 inlined somewhere (from
  // --print-opt-source), self samples included; which frames those are depends on JIT
  // timing, so two runs of the same code would disagree. Rendering without that list keeps
  // every sampled frame.
  const metaPath = join(collectDir, 'meta.json');
  if (existsSync(metaPath)) {
    const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as Record<string, unknown>;
    delete meta.inlined;
    writeFileSync(metaPath, JSON.stringify(meta));
  }
  return join(collectDir, log);
}

export interface VisualizeOptions {
  collectDir: string;
  htmlPath: string;
  title: string;
  /** Samples in the first `delayMs` after the first one are left out. */
  delayMs: number;
  cwd: string;
  timeoutMs?: number;
}

/** Pass 2: 0x's flamegraph HTML and its merged stack tree for the measured window. */
export async function visualize(options: VisualizeOptions): Promise<ZeroXNode> {
  const child = spawnGroup(
    process.execPath,
    [
      ZEROX_CMD,
      '--visualize-only',
      options.collectDir,
      '--collect-delay',
      String(Math.max(0, Math.round(options.delayMs))),
      '--tree-debug',
      '--title',
      options.title,
    ],
    { cwd: options.cwd, env: process.env, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const pgid = child.pid;
  if (pgid === undefined) throw new ZeroXError('could not start 0x --visualize-only');
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-TAIL_LIMIT);
  });
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  const code = await Promise.race([exited, sleep(options.timeoutMs ?? 300_000).then(() => 'timeout' as const)]);
  if (code === 'timeout') {
    await killGroup(pgid);
    throw new ZeroXError('0x --visualize-only did not finish within its time limit');
  }
  await releaseGroup(pgid);
  if (code !== 0) throw new ZeroXError(`0x --visualize-only failed (exit ${code}): ${lastServiceLine(stderr) ?? 'no message'}`);
  // --visualize-only ignores --output-html: the page is <dir>/<name>.html, name from pass 1.
  const written = join(options.collectDir, 'flamegraph.html');
  const treeFile = readdirSync(options.collectDir).find((f) => /^stacks\..+\.json$/.test(f));
  if (treeFile === undefined || !existsSync(written)) {
    throw new ZeroXError(`0x --visualize-only wrote no ${treeFile === undefined ? 'stack tree' : 'flamegraph'}`);
  }
  renameSync(written, options.htmlPath);
  const tree = JSON.parse(readFileSync(join(options.collectDir, treeFile), 'utf8')) as { merged?: ZeroXNode };
  if (tree.merged === undefined) throw new ZeroXError(`0x's ${treeFile} has no merged tree`);
  return tree.merged;
}

/** Whether the group still has live processes (for tests and diagnostics). */
export { groupAlive };
