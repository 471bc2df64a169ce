/**
 * Shared helpers for the e2e tests that run the real observability stack (stack/stack.sh:
 * Elasticsearch, Filebeat, OpenTelemetry Collector) beside the real service.
 *
 *   const stack = await createStack();          // private run dir and free ports
 *   await stackUp(['es', 'filebeat'], stack.env);
 *   ...
 *   await stackDown(['es', 'filebeat'], stack.env);
 *   assert.deepEqual(orphans(stack), []);
 *
 * Each test stack gets its own STACK_RUN_DIR (pid files, data, logs) and free ports, so it
 * neither disturbs nor is disturbed by a developer's stack on the default ports or by another
 * e2e file's. The download/build cache (STACK_CACHE_DIR) is shared.
 */
import { execFile } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startService as startServiceProcess, type RunningService, type StartOptions } from '../helpers/service';
import { PROJECT_ROOT } from '../../src/paths';
import { sleep, waitUntil } from '../helpers/wait';

const execFileAsync = promisify(execFile);

export type Component = 'es' | 'filebeat' | 'otelcol' | 'mlflow' | 'prometheus' | 'jaeger';

export interface TestStack {
  runDir: string;
  /** Environment for stack/stack.sh and for what talks to the stack. */
  env: Record<string, string>;
  esUrl: string;
  /** The service's log directory that Filebeat reads (RECO_LOG_DIR). */
  logDir: string;
}

/** Whether `port` (0: any) can be listened on at 127.0.0.1 now; the port listened on, or undefined. */
function tryListen(port: number): Promise<number | undefined> {
  return new Promise((resolvePort) => {
    const server = createServer();
    server.once('error', () => resolvePort(undefined));
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      const got = typeof address === 'object' && address !== null ? address.port : undefined;
      server.close(() => resolvePort(got));
    });
  });
}

/** The first port of the kernel's ephemeral range (Linux default 32768). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) ? low : 32768;
  } catch {
    return 32768;
  }
}

const PORT_FLOOR = 20000;

/**
 * A port that was free a moment ago, for a server a child process starts later. Chosen at
 * random BELOW the kernel's ephemeral range: a port from `listen(0)` is an ephemeral one, and
 * between our check and the child's bind any outgoing connection on the machine may be given
 * it as its local port (seen with several stacks under load at once: the collector's OTLP
 * receiver failed with "address already in use"). Outgoing connections never get a port
 * below the range. Falls back to `listen(0)` where the range starts too low.
 */
export async function freePort(): Promise<number> {
  const low = ephemeralLow();
  for (let attempt = 0; low - PORT_FLOOR > 1000 && attempt < 100; attempt++) {
    const port = await tryListen(PORT_FLOOR + randomInt(low - PORT_FLOOR));
    if (port !== undefined) return port;
  }
  const port = await tryListen(0);
  if (port === undefined) throw new Error('no free port on 127.0.0.1');
  return port;
}

/** A private run dir, log dir and free ports for one test file's stack. */
export async function createStack(label: string, extraEnv: Record<string, string> = {}): Promise<TestStack> {
  const runDir = mkdtempSync(join(tmpdir(), `recoscope-stack-${label}-`));
  // mkdtemp makes it 0700; Elasticsearch runs as its own user and keeps its state in here.
  chmodSync(runDir, 0o755);
  const logDir = join(runDir, 'service-logs');
  const esPort = await freePort();
  const esUrl = `http://127.0.0.1:${esPort}`;
  const env: Record<string, string> = {
    STACK_RUN_DIR: runDir,
    ES_PORT: String(esPort),
    ELASTICSEARCH_HOSTS: esUrl,
    ELASTICSEARCH_URL: esUrl,
    RECO_LOG_DIR: logDir,
    FILEBEAT_HTTP_PORT: String(await freePort()),
    ...extraEnv,
  };
  return { runDir, env, esUrl, logDir };
}

/** Runs stack/stack.sh with the given arguments; returns its stdout, throws with its stderr. */
export async function stackCommand(args: string[], env: Record<string, string>, timeoutMs = 45 * 60_000): Promise<string> {
  try {
    const { stdout } = await execFileAsync('bash', [join(PROJECT_ROOT, 'stack', 'stack.sh'), ...args], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ...env },
      // A cold install builds Filebeat / the collector from source: minutes on 2 cores.
      timeout: timeoutMs,
      maxBuffer: 32 * 1024 * 1024,
    });
    return stdout;
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`stack/stack.sh ${args.join(' ')} failed: ${e.message}\n${e.stderr ?? ''}`);
  }
}

/** Installs if needed, wipes the run data, starts and waits until healthy. */
export async function stackUp(components: Component[], env: Record<string, string>): Promise<void> {
  await stackCommand(['up', ...components], env);
}

/** Stops (SIGTERM, then SIGKILL after a grace period). Safe to call when nothing runs. */
export async function stackDown(components: Component[], env: Record<string, string>): Promise<void> {
  await stackCommand(['down', ...components], env);
}

/** Starts on the existing run data (e.g. Elasticsearch after an outage: documents survive). */
export async function stackStart(components: Component[], env: Record<string, string>): Promise<void> {
  await stackCommand(['start', ...components], env);
}

/** Stops, keeping the run data. */
export async function stackStop(components: Component[], env: Record<string, string>): Promise<void> {
  await stackCommand(['stop', ...components], env);
}

export async function stackVersions(components: Component[], env: Record<string, string>): Promise<string> {
  return (await stackCommand(['versions', ...components], env)).trim();
}

/**
 * Whether the process runs. A zombie counts as dead, as in stack/lib.sh's pid_alive: where
 * PID 1 does not reap orphans, a daemonized process that exited (Elasticsearch after `stop`)
 * stays a zombie that signal 0 still finds.
 */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // /proc/<pid>/stat: "pid (comm) state …"; comm may hold spaces and parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false; // gone between the two looks
  }
}

/** The pid a component's pid file names in this stack's run dir, if the file exists. */
export function stackPid(stack: TestStack, name: string): number | undefined {
  const file = join(stack.runDir, `${name}.pid`);
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * Processes still alive whose command line mentions the stack's
 * run dir (every part is started with paths inside it): what `stackDown` left behind.
 */
export function orphans(stack: TestStack): string[] {
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      continue; // exited meanwhile, or not ours to read
    }
    if (cmdline.includes(stack.runDir)) found.push(`${entry}: ${cmdline.slice(0, 200)}`);
  }
  return found;
}

export function removeStack(stack: TestStack): void {
  rmSync(stack.runDir, { recursive: true, force: true });
}

/** waitUntil with the argument order the e2e tests use (a poll every 500 ms by default). */
export function waitFor<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs: number,
  what: string,
  intervalMs = 500,
): Promise<T> {
  return waitUntil(probe, what, timeoutMs, intervalMs);
}

export { sleep };

/**
 * The real service (dist/src/main.js) writing its NDJSON log into the stack's log dir (the
 * directory Filebeat reads), on a free port.
 */
export async function startService(stack: TestStack, options: StartOptions = {}): Promise<RunningService> {
  const port = await freePort();
  return startServiceProcess({
    ...options,
    env: { PORT: String(port), LOG_DIR: stack.logDir, ...options.env },
  });
}

/** Every record of every NDJSON file in `dir` (the live file and the rotated ones). */
export function readLogDir(dir: string): Record<string, unknown>[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((file) => file.includes('.ndjson'))
    .flatMap((file) =>
      readFileSync(join(dir, file), 'utf8')
        .split('\n')
        .filter((line) => line.length > 0)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    );
}

/** The raw text of every NDJSON file in `dir`, for "this string appears nowhere" checks. */
export function readLogDirText(dir: string): string {
  if (!existsSync(dir)) return '';
  return readdirSync(dir)
    .filter((file) => file.includes('.ndjson'))
    .map((file) => readFileSync(join(dir, file), 'utf8'))
    .join('');
}
