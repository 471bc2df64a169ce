/** Which code a profile ran: the commit and whether the tree had uncommitted changes. */
import { spawnSync } from 'node:child_process';

export interface GitInfo {
  sha: string;
  short: string;
  /** Uncommitted changes (tracked or untracked, ignored files aside) when the run started. */
  dirty: boolean;
}

function git(cwd: string, args: string[]): string | undefined {
  const result = spawnSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

export function gitInfo(cwd: string): GitInfo {
  const sha = git(cwd, ['rev-parse', 'HEAD']);
  if (sha === undefined) return { sha: 'unknown', short: 'nogit', dirty: false };
  const status = git(cwd, ['status', '--porcelain']);
  return { sha, short: sha.slice(0, 7), dirty: status === undefined || status !== '' };
}
