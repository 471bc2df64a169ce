/**
 * The configured weights of an experiment's arms, from the service's experiments file
 * (EXPERIMENTS_FILE, read and validated by the service's own reader): the report's
 * "share (weight)" column and its default control (the first arm).
 */
import { readExperimentsFile } from '../src/experiments';

/** arm name → weight, in the file's order; throws naming the file when the experiment is not in it. */
export function experimentWeights(path: string, experiment: string): Record<string, number> {
  const experiments = readExperimentsFile(path);
  const found = experiments.find((e) => e.name === experiment);
  if (found === undefined) throw new Error(`${path} has no experiment "${experiment}" (has: ${experiments.map((e) => e.name).join(', ')})`);
  return Object.fromEntries(found.arms.map((a) => [a.name, a.weight]));
}
