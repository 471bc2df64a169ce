/**
 * Probes are small child processes that measure one thing in isolation (training time and
 * peak RSS of one dataset, allocation per recommend() call) and print their result as the
 * last stdout line: `{"probe": <result>}`. Running each in its own process keeps its peak
 * RSS its own and lets it use V8 flags the parent must not have.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { DIST_DIR, PROJECT_ROOT } from '../../src/paths';
import { pinnedCommand } from '../../loadtest/cpu';

export const PROBES_DIR = join(DIST_DIR, 'bench', 'probes');

export function emit(result: unknown): void {
  process.stdout.write(`${JSON.stringify({ probe: result })}\n`);
}

export interface ProbeRun<T> {
  result: T;
  wallMs: number;
}

/** Runs `dist/bench/probes/<script>.js`, resolves its `{"probe": ...}` result. */
export function runProbe<T>(
  script: string,
  options: { env: Record<string, string>; nodeArgs?: string[]; args?: string[]; cpu?: number; timeoutMs: number },
): Promise<ProbeRun<T>> {
  const { command, args } = pinnedCommand(options.cpu, process.execPath, [
    ...(options.nodeArgs ?? []),
    join(PROBES_DIR, `${script}.js`),
    ...(options.args ?? []),
  ]);
  const started = performance.now();
  return new Promise((resolveRun, rejectRun) => {
    const child = spawn(command, args, {
      cwd: PROJECT_ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout = (stdout + c.toString('utf8')).slice(-1_000_000);
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr = (stderr + c.toString('utf8')).slice(-20_000);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      rejectRun(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout
        .trim()
        .split('\n')
        .reverse()
        .find((l) => l.startsWith('{"probe":'));
      if (code === 0 && line !== undefined) {
        resolveRun({ result: (JSON.parse(line) as { probe: T }).probe, wallMs: performance.now() - started });
        return;
      }
      const why = signal === 'SIGKILL' ? `killed after ${Math.round(options.timeoutMs / 1000)} s` : `exit ${code ?? signal}`;
      rejectRun(new Error(`probe ${script} failed (${why}): ${stderr.trim().split('\n').slice(-5).join(' | ')}`));
    });
  });
}
