/** What the numbers were measured on: printed with every table, stored with every result. */
import { spawnSync } from 'node:child_process';
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';
import { PROJECT_ROOT } from '../src/paths';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  /** CPUs this process may use (affinity / cgroup), which may be fewer than `cores`. */
  availableParallelism: number;
  totalMemoryBytes: number;
  node: string;
  v8: string;
  platform: string;
  date: string;
  gitSha: string;
  /** Uncommitted changes to tracked files when the benchmark ran. */
  gitDirty: boolean;
  /** 1-minute load average when the benchmark started: how busy the machine was. */
  loadAverage1m: number;
}

function git(args: string[]): string | undefined {
  const result = spawnSync('git', args, { cwd: PROJECT_ROOT, encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

export function machineInfo(): MachineInfo {
  const list = cpus();
  return {
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    availableParallelism: availableParallelism(),
    totalMemoryBytes: totalmem(),
    node: process.version,
    v8: process.versions.v8,
    platform: `${process.platform} ${release()} ${process.arch}`,
    date: new Date().toISOString(),
    gitSha: git(['rev-parse', 'HEAD']) ?? 'unknown',
    gitDirty: (git(['status', '--porcelain', '--untracked-files=no']) ?? '') !== '',
    loadAverage1m: loadavg()[0] ?? Number.NaN,
  };
}

export function machineLines(m: MachineInfo): string[] {
  return [
    `CPU: ${m.cpuModel}, ${m.cores} cores (${m.availableParallelism} available); RAM ${(m.totalMemoryBytes / 2 ** 30).toFixed(0)} GiB`,
    `Node ${m.node} (V8 ${m.v8}), ${m.platform}`,
    `Date: ${m.date}; git ${m.gitSha.slice(0, 12)}${m.gitDirty ? ' (with uncommitted changes)' : ''}; load average at start ${m.loadAverage1m.toFixed(2)}`,
  ];
}
