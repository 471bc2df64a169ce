/** What the CLIs share: node:util's parseArgs with its errors as usage errors, and how paths are shown. */
import { relative } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A wrong command line: the CLI prints the message and its usage, and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export function parseCommandLine<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (error) {
    // parseArgs throws TypeErrors for unknown flags and missing values: the user's mistake.
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

/** A path as the user should see it: relative to the working directory, unless it lies outside it. */
export function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.startsWith('..') ? path : rel;
}
