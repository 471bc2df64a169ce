/**
 * Data shared between projects lives beside the repository, in ../shared (never copied in).
 * Tests that need it ask for a path here: when it is missing the test fails with one line
 * naming the missing path and how to provide it, instead of a stack trace from deep inside a
 * CSV reader. RECOSCOPE_SHARED_DIR points elsewhere (e.g. from a git worktree).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { PROJECT_ROOT } from '../../src/paths';

export const SHARED_DIR = resolve(process.env.RECOSCOPE_SHARED_DIR ?? join(PROJECT_ROOT, '..', 'shared'));

/** An error that prints as its one line (node:test shows an error's stack). */
export class MissingSharedData extends Error {
  override name = 'MissingSharedData';
  constructor(message: string) {
    super(message);
    this.stack = `${this.name}: ${message}`;
  }
}

/** The absolute path of `parts` under the shared directory; throws MissingSharedData when absent. */
export function sharedPath(...parts: string[]): string {
  const path = join(SHARED_DIR, ...parts);
  if (!existsSync(path)) {
    throw new MissingSharedData(
      `missing shared data ${path} (expected ../shared/${parts.join('/')} beside the project; set RECOSCOPE_SHARED_DIR to its folder)`,
    );
  }
  return path;
}

/**
 * `describe(title, …)` over data in ../shared: when the data is missing, one failing test
 * with the one-line message instead of a suite whose every test is cancelled.
 */
export function describeWithSharedData(title: string, parts: string[], suite: (path: string) => void): void {
  let path: string;
  try {
    path = sharedPath(...parts);
  } catch (error) {
    it(title, () => {
      throw error;
    });
    return;
  }
  describe(title, () => suite(path));
}
