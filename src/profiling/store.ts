/**
 * The local profile store: one gzip pprof file per cut, written to a temporary name and
 * renamed (a reader never sees half a file), bounded by total size and by age. The oldest
 * go first; the file just written is never removed, so a bound smaller than one profile
 * still keeps the newest.
 */
import { mkdir, readdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PROFILE_FILE_SUFFIX } from './labels';

export interface StoreBounds {
  maxBytes: number;
  maxAgeMs: number;
}

export interface PruneResult {
  removed: number;
  removedBytes: number;
  /** What remains: files and bytes. */
  files: number;
  bytes: number;
}

export async function ensureStore(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
}

export async function writeProfileFile(dir: string, id: string, data: Buffer): Promise<string> {
  const file = `${id}${PROFILE_FILE_SUFFIX}`;
  const tmp = join(dir, `.${file}.tmp`);
  await writeFile(tmp, data);
  await rename(tmp, join(dir, file));
  return file;
}

interface Entry {
  name: string;
  bytes: number;
  mtimeMs: number;
}

async function entries(dir: string): Promise<Entry[]> {
  const names = (await readdir(dir)).filter((name) => name.endsWith(PROFILE_FILE_SUFFIX) && !name.startsWith('.'));
  const found: Entry[] = [];
  for (const name of names) {
    try {
      const s = await stat(join(dir, name));
      found.push({ name, bytes: s.size, mtimeMs: s.mtimeMs });
    } catch {
      // Removed meanwhile (another pruner, an operator): nothing to count.
    }
  }
  // Oldest first; ids start with a UTC timestamp, so the name breaks ties in time order.
  return found.sort((a, b) => a.mtimeMs - b.mtimeMs || (a.name < b.name ? -1 : 1));
}

/** Removes the oldest profiles until the store is within both bounds; `keep` is never removed. */
export async function pruneStore(dir: string, bounds: StoreBounds, keep: string | undefined, now = Date.now()): Promise<PruneResult> {
  const all = await entries(dir);
  let bytes = all.reduce((sum, e) => sum + e.bytes, 0);
  let files = all.length;
  let removed = 0;
  let removedBytes = 0;
  for (const e of all) {
    if (e.name === keep) continue;
    const tooOld = now - e.mtimeMs > bounds.maxAgeMs;
    if (!tooOld && bytes <= bounds.maxBytes) break;
    try {
      await unlink(join(dir, e.name));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    bytes -= e.bytes;
    files -= 1;
    removed += 1;
    removedBytes += e.bytes;
  }
  return { removed, removedBytes, files, bytes };
}
