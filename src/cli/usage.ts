/** What the CLIs share: node:util's parseArgs with its errors as usage errors, and how paths are shown. */
import { relative } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';

/**
 * A wrong command line: the CLI prints the message and its usage, and exits 2. With
 * `showUsage: false` the message alone says what to fix (e.g. "unknown scenario 'x' (known:
 * …)"), so only that one line is printed, still with exit 2.
 */
export class UsageError extends Error {
  override name = 'UsageError';
  readonly showUsage: boolean;
  constructor(message: string, options: { showUsage?: boolean } = {}) {
    super(message);
    this.showUsage = options.showUsage ?? true;
  }
}

export function parseCommandLine<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (error) {
    // parseArgs throws TypeErrors for unknown flags and missing values: the user's mistake.
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

/**
 * A numeric option: `fallback` when it is absent, else its value, refused with a usage error
 * naming `--name` unless it is a positive (with `allowZero`, non-negative) finite number.
 */
export function numberOption(text: string | undefined, fallback: number, name: string, allowZero = false): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) throw new UsageError(`--${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got '${text}'`);
  return n;
}

/** A path as the user should see it: relative to the working directory, unless it lies outside it. */
export function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.startsWith('..') ? path : rel;
}

/**
 * The one skeleton every command runs in: `main` returns the exit code (0 when it returns
 * nothing). A UsageError prints the message and the usage on stderr and exits 2 (a
 * UsageError with an empty message is a request for help: the usage on stdout, exit 0); any
 * other failure prints one line `name: message` and exits 1 — never a stack trace for a
 * user's mistake (set RECOSCOPE_DEBUG=1 to see the stack of an unexpected failure).
 *
 * `options.exit`: end the process with the code instead of letting the event loop drain
 * (for commands whose libraries may keep handles open, e.g. autocannon's timers).
 * `options.onFailure`: awaited before the failure is reported (e.g. stop child processes).
 */
export function runCli(
  name: string,
  usage: string,
  main: () => Promise<number | void> | number | void,
  options: { exit?: boolean; onFailure?: () => Promise<void> | void } = {},
): void {
  const finish = (code: number): void => {
    if (options.exit === true) process.exit(code);
    process.exitCode = code;
  };
  const fail = async (error: unknown): Promise<void> => {
    try {
      await options.onFailure?.();
    } catch {
      // The failure being reported matters more than one in the clean-up.
    }
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof UsageError) {
      if (message === '') {
        process.stdout.write(`${usage.trimEnd()}\n`);
        finish(0);
        return;
      }
      process.stderr.write(`${name}: ${message.split('\n')[0]}\n${error.showUsage ? `\n${usage.trimEnd()}\n` : ''}`);
      finish(2);
      return;
    }
    process.stderr.write(`${name}: ${message.split('\n')[0]}\n`);
    if (process.env.RECOSCOPE_DEBUG === '1' && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
    finish(1);
  };
  let result: Promise<number | void> | number | void;
  try {
    result = main();
  } catch (error) {
    void fail(error);
    return;
  }
  Promise.resolve(result).then(
    (code) => finish(typeof code === 'number' ? code : (process.exitCode === undefined ? 0 : Number(process.exitCode))),
    (error: unknown) => fail(error),
  );
}
