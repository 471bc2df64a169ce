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

/**
 * The one skeleton every command runs in: `main` returns the exit code (0 when it returns
 * nothing). A UsageError prints the message and the usage and exits 2; any other failure
 * prints one line `name: message` and exits 1 — never a stack trace for a user's mistake
 * (set RECOSCOPE_DEBUG=1 to see the stack of an unexpected failure).
 */
export function runCli(name: string, usage: string, main: () => Promise<number | void> | number | void): void {
  const fail = (error: unknown): void => {
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof UsageError) {
      process.stderr.write(`${name}: ${message.split('\n')[0]}\n\n${usage.trimEnd()}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`${name}: ${message.split('\n')[0]}\n`);
    if (process.env.RECOSCOPE_DEBUG === '1' && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
    process.exitCode = 1;
  };
  try {
    Promise.resolve(main()).then((code) => {
      process.exitCode = typeof code === 'number' ? code : (process.exitCode ?? 0);
    }, fail);
  } catch (error) {
    fail(error);
  }
}
