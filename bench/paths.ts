/**
 * The request paths a benchmark target cycles through, built from the load-test scenarios
 * (loadtest/scenarios.json, loadtest/) so the benchmark and `npm run load` ask for the
 * same routes with the same Zipf-distributed users: same sampler, exponent and seed. Unlike
 * `npm run load`, no cold (unknown) users: every request exercises the model itself.
 *
 * The paths are drawn once, up front, and autocannon cycles them as pre-built requests, which
 * keeps the load generator's own cost per request minimal.
 */
import { createRng } from '../src/data/prng';
import { getScenario, loadScenarioFile, USER_ID_PLACEHOLDER } from '../loadtest/scenarios';
import { createUserSampler, createWeightedPicker } from '../loadtest/users';

export const PATHS_PER_TARGET = 4096;

export interface PathOptions {
  /** Scenario name in loadtest/scenarios.json: health, popular, knn, mixed. */
  scenario: string;
  /** Known users are 0..knownUsers-1 (the synthetic dataset's ids). */
  knownUsers: number;
  count?: number;
}

export function scenarioPaths(options: PathOptions): string[] {
  const file = loadScenarioFile();
  const scenario = getScenario(file, options.scenario);
  const { seed, zipfExponent } = file.defaults;
  const rng = createRng(seed);
  const users = createUserSampler({ knownUsers: options.knownUsers, coldShare: 0, zipfExponent, seed }, rng);
  const pick = createWeightedPicker(
    scenario.requests.map((r) => r.weight),
    rng,
  );
  const out: string[] = [];
  for (let i = 0; i < (options.count ?? PATHS_PER_TARGET); i++) {
    const template = (scenario.requests[pick()] as { path: string }).path;
    out.push(template.includes(USER_ID_PLACEHOLDER) ? template.split(USER_ID_PLACEHOLDER).join(String(users.next().id)) : template);
  }
  return out;
}

/** `count` user ids from the same sampler, for in-process probes. */
export function zipfUsers(knownUsers: number, count: number): number[] {
  const file = loadScenarioFile();
  const { seed, zipfExponent } = file.defaults;
  const users = createUserSampler({ knownUsers, coldShare: 0, zipfExponent, seed });
  return Array.from({ length: count }, () => users.next().id);
}
