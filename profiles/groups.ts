/**
 * Child processes started in their own process group, so that everything they start in turn
 * (0x starts the service, then `node --prof-process`) can be signalled — and, on the way out,
 * killed — as one. Whatever happens to this process, no group it started outlives it: an
 * `exit` hook SIGKILLs every group still registered.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

const liveGroups = new Set<number>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pgid of liveGroups) signalGroup(pgid, 'SIGKILL');
  });
}

/** spawn() as the leader of a new process group (pgid = pid), registered for clean-up. */
export function spawnGroup(command: string, args: readonly string[], options: SpawnOptions): ChildProcess {
  installExitHook();
  const child = spawn(command, args, { ...options, detached: true });
  if (child.pid !== undefined) liveGroups.add(child.pid);
  return child;
}

/** Sends `signal` to every process of the group; false when none is left. */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

export function groupAlive(pgid: number): boolean {
  return signalGroup(pgid, 0);
}

/** Pids in process group `pgid` (Linux /proc; empty elsewhere). */
export function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return members;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the parenthesised command: state ppid pgrp ...
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid) members.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return members;
}

/** SIGKILLs the group, waits until it is gone (bounded), and forgets it. */
export async function killGroup(pgid: number, waitMs = 5_000): Promise<void> {
  signalGroup(pgid, 'SIGKILL');
  const deadline = Date.now() + waitMs;
  while (groupAlive(pgid) && Date.now() < deadline) await sleep(50);
  liveGroups.delete(pgid);
}

/** Forgets a group that ended by itself (after checking nothing in it survived). */
export async function releaseGroup(pgid: number): Promise<void> {
  if (groupAlive(pgid)) await killGroup(pgid);
  liveGroups.delete(pgid);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolveSleep) => setTimeout(resolveSleep, ms));
}
