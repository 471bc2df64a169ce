/**
 * The load settings every entry point shares (load CLI, profiler): command-line flags
 * (node:util parseArgs) over environment variables over the scenario file's defaults.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { parseArgs, ParseArgsConfig } from 'node:util';
import { parseCommandLine, UsageError } from '../src/cli/usage';
import { PROJECT_ROOT } from '../src/paths';
import type { LoadShape } from './load';
import {
  DEFAULT_SCENARIOS_FILE,
  getScenario,
  loadScenarioFile,
  type Scenario,
  type ScenarioDefaults,
} from './scenarios';

/** parseArgs options for the shared load flags; every value is a string, parsed below. */
export const LOAD_FLAGS = {
  connections: { type: 'string', short: 'c' },
  duration: { type: 'string', short: 'd' },
  warmup: { type: 'string', short: 'w' },
  seed: { type: 'string' },
  'cold-share': { type: 'string' },
  users: { type: 'string' },
  zipf: { type: 'string' },
  timeout: { type: 'string' },
  scenarios: { type: 'string' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

export type LoadFlagValues = { [K in keyof typeof LOAD_FLAGS]?: string };

/** Environment variable read when a flag is absent. */
export const LOAD_ENV: Record<keyof typeof LOAD_FLAGS, string> = {
  connections: 'LOAD_CONNECTIONS',
  duration: 'LOAD_DURATION',
  warmup: 'LOAD_WARMUP',
  seed: 'LOAD_SEED',
  'cold-share': 'LOAD_COLD_SHARE',
  users: 'LOAD_USERS',
  zipf: 'LOAD_ZIPF_EXPONENT',
  timeout: 'LOAD_TIMEOUT',
  scenarios: 'LOAD_SCENARIOS_FILE',
};

export interface LoadSettings extends LoadShape {
  timeoutSeconds: number;
}

/** The flag's value, else its environment variable, else undefined (empty strings count as unset). */
export function flagOrEnv(
  values: Record<string, string | boolean | undefined>,
  flag: string,
  envName: string | undefined,
  env: NodeJS.ProcessEnv,
): string | undefined {
  const v = values[flag];
  if (typeof v === 'string' && v !== '') return v;
  if (envName !== undefined) {
    const e = env[envName];
    if (e !== undefined && e !== '') return e;
  }
  return undefined;
}

function number(
  text: string | undefined,
  fallback: number,
  what: string,
  check: (n: number) => boolean,
  rule: string,
): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || !check(n)) throw new UsageError(`invalid ${what} '${text}': ${rule}`);
  return n;
}

export function loadSettings(values: LoadFlagValues, env: NodeJS.ProcessEnv, defaults: ScenarioDefaults): LoadSettings {
  const get = (flag: keyof typeof LOAD_FLAGS): string | undefined => flagOrEnv(values, flag, LOAD_ENV[flag], env);
  const isPositiveInt = (n: number): boolean => Number.isInteger(n) && n >= 1;
  // Known users default to the synthetic dataset's size when the service's own env says it.
  const users = get('users') ?? (env.SYNTHETIC_USERS !== undefined && env.SYNTHETIC_USERS !== '' ? env.SYNTHETIC_USERS : undefined);
  return {
    connections: number(get('connections'), defaults.connections, '--connections', (n) => isPositiveInt(n) && n <= 1000, 'an integer in [1, 1000]'),
    durationSeconds: number(get('duration'), defaults.durationSeconds, '--duration', (n) => n > 0 && n <= 3600, 'seconds in (0, 3600]'),
    warmupSeconds: number(get('warmup'), defaults.warmupSeconds, '--warmup', (n) => n >= 0 && n <= 3600, 'seconds in [0, 3600]'),
    seed: number(get('seed'), defaults.seed, '--seed', (n) => Number.isInteger(n) && n >= 0 && n < 2 ** 31, 'an integer in [0, 2^31)'),
    coldShare: number(get('cold-share'), defaults.coldShare, '--cold-share', (n) => n >= 0 && n <= 1, 'a fraction in [0, 1]'),
    knownUsers: number(users, defaults.knownUsers, '--users', (n) => isPositiveInt(n) && n <= 500_000_000, 'an integer in [1, 5e8]'),
    zipfExponent: number(get('zipf'), defaults.zipfExponent, '--zipf', (n) => n >= 0 && n <= 5, 'a number in [0, 5]'),
    timeoutSeconds: number(get('timeout'), 10, '--timeout', (n) => n > 0 && n <= 600, 'seconds in (0, 600]'),
  };
}

export interface ScenarioSelection {
  scenariosFile: string;
  scenario: Scenario;
  settings: LoadSettings;
}

/** The one positional scenario name, its file (--scenarios / LOAD_SCENARIOS_FILE) and the load settings. */
export function selectScenario(
  values: LoadFlagValues,
  positionals: string[],
  env: NodeJS.ProcessEnv,
): ScenarioSelection {
  if (positionals.length !== 1) throw new UsageError(`expected one scenario name, got ${positionals.length} (try --help)`);
  const scenariosFile = flagOrEnv(values, 'scenarios', LOAD_ENV.scenarios, env) ?? DEFAULT_SCENARIOS_FILE;
  const file = loadScenarioFile(scenariosFile);
  const scenario = getScenario(file, positionals[0] as string);
  return { scenariosFile, scenario, settings: loadSettings(values, env, file.defaults) };
}

/** A compact UTC timestamp for file names: 20261123T101251Z. */
const HELP_FLAG = { help: { type: 'boolean', short: 'h' } } as const satisfies NonNullable<ParseArgsConfig['options']>;

type ToolCommandLine<O extends NonNullable<ParseArgsConfig['options']>, P extends boolean> = ReturnType<
  typeof parseArgs<{ args: string[]; allowPositionals: P; options: O & typeof HELP_FLAG }>
>;

/**
 * A load tool's command line (process.argv) with its `options` plus -h/--help; undefined when
 * help was asked for, after printing `usage` to stdout (the caller then exits 0).
 */
export function toolCommandLine<O extends NonNullable<ParseArgsConfig['options']>, P extends boolean>(
  usage: string,
  options: O,
  allowPositionals: P,
): ToolCommandLine<O, P> | undefined {
  const parsed = parseCommandLine({ args: process.argv.slice(2), allowPositionals, options: { ...options, ...HELP_FLAG } });
  // parseArgs' value types stay unresolved inside this generic; --help is there by HELP_FLAG.
  if ((parsed.values as { help?: boolean }).help === true) {
    process.stdout.write(usage);
    return undefined;
  }
  return parsed;
}

/** Where a run's JSON summary goes: `out` when given, else loadtest/results/<name>-<time>.json. */
export function summaryFile(out: string | undefined, name: string): string {
  return resolve(out ?? join(PROJECT_ROOT, 'loadtest', 'results', `${name}-${fileTimestamp()}.json`));
}

/** Writes a run's JSON summary (pretty, newline-terminated), creating its folder. */
export function writeSummary(file: string, summary: unknown): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(summary, null, 2)}\n`);
}

export function fileTimestamp(date: Date = new Date()): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/**
 * Ctrl-C / SIGTERM: the first one aborts the returned signal (the run stops and cleans up);
 * a second exits at once (130), which still runs the `exit` hooks that kill child groups.
 */
export function onInterrupt(): AbortSignal {
  const controller = new AbortController();
  const handler = (): void => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write('\ninterrupted: stopping (again to quit at once)\n');
    controller.abort();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return controller.signal;
}
