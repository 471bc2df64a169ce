/**
 * CPU pinning with util-linux `taskset`, and per-process CPU time from /proc.
 *
 * Benchmarks put the server under test on one core and the load generator on another so
 * they do not steal each other's cycles. Where taskset (or a second core) is missing,
 * everything still runs, unpinned, and `pinningStatus()` says why.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface PinningStatus {
  available: boolean;
  /** CPUs this process may run on (sched affinity), e.g. [0, 1]. */
  allowedCpus: number[];
  /** Why pinning is off, when it is. */
  reason?: string;
}

let cachedTaskset: boolean | undefined;

export function hasTaskset(): boolean {
  if (cachedTaskset === undefined) {
    const result = spawnSync('taskset', ['--version'], { stdio: 'ignore' });
    cachedTaskset = result.error === undefined && result.status === 0;
  }
  return cachedTaskset;
}

/** Parses a kernel CPU list ("0-3,6,8-9") into CPU numbers. */
export function parseCpuList(text: string): number[] {
  const cpus: number[] = [];
  for (const part of text.trim().split(',')) {
    if (part === '') continue;
    const [from, to] = part.split('-').map((n) => Number.parseInt(n, 10));
    if (from === undefined || Number.isNaN(from)) continue;
    const last = to === undefined || Number.isNaN(to) ? from : to;
    for (let c = from; c <= last; c++) cpus.push(c);
  }
  return cpus;
}

let initialCpus: number[] | undefined;

/**
 * CPUs this process was allowed to run on when first asked. Cached on purpose: after a
 * benchmark pins itself to one CPU (`pinProcess`), its children may still be pinned to the
 * others (sched_setaffinity is bounded by the cpuset, not by the parent's mask).
 */
export function allowedCpus(): number[] {
  initialCpus ??= readAllowedCpus();
  return initialCpus;
}

function readAllowedCpus(): number[] {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const match = /^Cpus_allowed_list:\s*(.+)$/m.exec(status);
    if (match?.[1] !== undefined) return parseCpuList(match[1]);
  } catch {
    // not Linux: fall through
  }
  return [];
}

/** Whether `cpus` can all be pinned to (taskset present and every CPU allowed). */
export function pinningStatus(cpus: number[]): PinningStatus {
  const allowed = allowedCpus();
  if (!hasTaskset()) return { available: false, allowedCpus: allowed, reason: 'taskset (util-linux) not found on PATH' };
  const missing = cpus.filter((c) => !allowed.includes(c));
  if (missing.length > 0) {
    return {
      available: false,
      allowedCpus: allowed,
      reason: `CPU ${missing.join(',')} not available to this process (allowed: ${allowed.join(',') || 'unknown'})`,
    };
  }
  return { available: true, allowedCpus: allowed };
}

/** `command args` wrapped in `taskset -c cpu` when a cpu is given and pinning works. */
export function pinnedCommand(
  cpu: number | undefined,
  command: string,
  args: string[],
): { command: string; args: string[]; pinned: boolean } {
  if (cpu === undefined || !pinningStatus([cpu]).available) return { command, args, pinned: false };
  return { command: 'taskset', args: ['-c', String(cpu), command, ...args], pinned: true };
}

/** Pins every thread of a running process (`taskset -a -p -c`); false when that failed. */
export function pinProcess(pid: number, cpu: number): boolean {
  if (!pinningStatus([cpu]).available) return false;
  const result = spawnSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
  return result.error === undefined && result.status === 0;
}

let clockTicks: number | undefined;

function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    const result = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    const n = Number.parseInt(result.stdout ?? '', 10);
    clockTicks = Number.isFinite(n) && n > 0 ? n : 100;
  }
  return clockTicks;
}

/**
 * User + system CPU seconds used so far by a process (all its threads), from
 * /proc/<pid>/stat; undefined when unavailable (not Linux, process gone).
 */
export function processCpuSeconds(pid: number): number | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // After the name, field 3 (state) is index 0, so utime (14) is index 11, stime (15) is 12.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  return (utime + stime) / ticksPerSecond();
}
