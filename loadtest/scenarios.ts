/**
 * Load-test scenarios are data: loadtest/scenarios.json names each scenario and the weighted
 * request paths it sends, plus the defaults every run starts from. This module reads and
 * validates that file (zod), so a typo in it stops a run with one clear line.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { UsageError } from '../src/cli/usage';
import { PROJECT_ROOT } from '../src/paths';

export const DEFAULT_SCENARIOS_FILE = join(PROJECT_ROOT, 'loadtest', 'scenarios.json');

/** The placeholder replaced by a user id in every request path. */
export const USER_ID_PLACEHOLDER = '{user_id}';

const requestSchema = z.object({
  path: z
    .string()
    .startsWith('/', 'must start with /')
    .refine((p) => !/\s/.test(p), 'must not contain whitespace'),
  weight: z.number().positive(),
});

const defaultsSchema = z.object({
  connections: z.number().int().min(1).max(1000),
  durationSeconds: z.number().positive().max(3600),
  warmupSeconds: z.number().min(0).max(3600),
  seed: z.number().int().min(0).max(2 ** 31 - 1),
  coldShare: z.number().min(0).max(1),
  zipfExponent: z.number().min(0).max(5),
  knownUsers: z.number().int().min(1),
});

const fileSchema = z.object({
  defaults: defaultsSchema,
  scenarios: z.record(
    z.string().regex(/^[a-z][a-z0-9_-]*$/, 'scenario names are lower-case words'),
    z.object({ description: z.string().default(''), requests: z.array(requestSchema).min(1) }),
  ),
});

export type ScenarioDefaults = z.infer<typeof defaultsSchema>;
export type ScenarioRequest = z.infer<typeof requestSchema>;

export interface Scenario {
  name: string;
  description: string;
  requests: ScenarioRequest[];
}

export interface ScenarioFile {
  path: string;
  defaults: ScenarioDefaults;
  scenarios: Map<string, Scenario>;
}

/** A scenario file or name the user got wrong: exit 2 with this one line (no usage dump). */
export class ScenarioError extends UsageError {
  override name = 'ScenarioError';
  constructor(message: string) {
    super(message, { showUsage: false });
  }
}

export function loadScenarioFile(path: string = DEFAULT_SCENARIOS_FILE): ScenarioFile {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ScenarioError(`cannot read scenarios from ${path}: ${(error as Error).message}`);
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ScenarioError(`invalid scenarios file ${path}: ${problems.join('; ')}`);
  }
  const scenarios = new Map<string, Scenario>();
  for (const [name, s] of Object.entries(parsed.data.scenarios)) {
    scenarios.set(name, { name, description: s.description, requests: s.requests });
  }
  return { path, defaults: parsed.data.defaults, scenarios };
}

/** The named scenario, or a ScenarioError listing the known ones. */
export function getScenario(file: ScenarioFile, name: string): Scenario {
  const scenario = file.scenarios.get(name);
  if (scenario === undefined) {
    throw new ScenarioError(`unknown scenario '${name}' (known: ${[...file.scenarios.keys()].join(', ')})`);
  }
  return scenario;
}

/** Whether the scenario sends anything but health checks, and so needs the API key. */
export function needsApiKey(scenario: Scenario): boolean {
  return scenario.requests.some((r) => r.path !== '/health');
}
