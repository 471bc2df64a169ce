/**
 * Helpers for the profiling tests: run the compiled CLIs as a user does, find leftover
 * processes, and the dataset that makes kNN scoring the service's main cost.
 */
import { spawn, spawnSync } from 'node:child_process';
import { PROJECT_ROOT, compiled } from '../../src/paths';
import { sleep } from './wait';

export const LOAD_CLI = compiled('loadtest/cli');
export const PROFILE_CLI = compiled('profiles/cli');
export const COMPARE_CLI = compiled('profiles/compare-cli');

/**
 * Few users with long histories and many neighbours: per request kNN scoring visits
 * history × K ≈ 100 × 300 neighbour entries, enough to dominate the HTTP work, while the
 * four models still train in a few seconds.
 */
export const KNN_HEAVY_ENV: Record<string, string> = {
  DATASET: 'synthetic',
  SYNTHETIC_USERS: '4000',
  SYNTHETIC_ITEMS: '2000',
  SYNTHETIC_INTERACTIONS: '400000',
  SYNTHETIC_SEED: '42',
  KNN_NEIGHBOURS: '300',
};

export const SMALL_PROFILE_ENV: Record<string, string> = {
  DATASET: 'synthetic',
  SYNTHETIC_USERS: '2000',
  SYNTHETIC_ITEMS: '300',
  SYNTHETIC_INTERACTIONS: '30000',
  SYNTHETIC_SEED: '7',
};

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment a CLI child gets: ours minus test-runner and tracing variables, plus `extra`. */
export function cliEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('NODE_TEST') || key.startsWith('OTEL_') || key === 'NODE_OPTIONS' || key === 'API_KEY') continue;
    env[key] = value;
  }
  return { ...env, LOG_STDOUT: 'false', ...extra };
}

/** Runs `node <script> ...args`; on timeout SIGTERM (the CLIs clean up), then SIGKILL. */
export function runCli(script: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 180_000): Promise<CliResult> {
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, [script, ...args], { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const term = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    const kill = setTimeout(() => child.kill('SIGKILL'), timeoutMs + 20_000);
    child.once('exit', (code) => {
      clearTimeout(term);
      clearTimeout(kill);
      resolveRun({ code, stdout, stderr });
    });
  });
}

/** Live processes (zombies aside) whose command line mentions `marker`, from ps. */
export function processesMentioning(marker: string): string[] {
  const ps = spawnSync('ps', ['-eo', 'pid=,stat=,args='], { encoding: 'utf8' });
  if (ps.status !== 0) throw new Error(`ps failed: ${ps.stderr}`);
  return ps.stdout
    .split('\n')
    .filter((line) => line.includes(marker))
    .filter((line) => !/^\s*\d+\s+Z/.test(line));
}

/** processesMentioning, polled briefly: a process group can take a moment to disappear. */
export async function orphansOf(marker: string, waitMs = 3_000): Promise<string[]> {
  const deadline = Date.now() + waitMs;
  let found = processesMentioning(marker);
  while (found.length > 0 && Date.now() < deadline) {
    await sleep(100);
    found = processesMentioning(marker);
  }
  return found;
}

/** The lines of a stream's text, without blank ones. */
export function lines(text: string): string[] {
  return text.split('\n').filter((l) => l.trim() !== '');
}
