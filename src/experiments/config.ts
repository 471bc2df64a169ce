/**
 * The experiments file (EXPERIMENTS_FILE): A/B tests served through the reco route. Read and
 * validated once at start-up, like the environment (config.ts), so a bad file stops the
 * process with one line naming the bad field (exit code `config`) instead of failing later:
 *
 *   {"experiments": [{"name": "homepage", "salt": "2026-12", "arms": [
 *     {"name": "control",   "model": "knn@production", "weight": 70},
 *     {"name": "treatment", "model": "knn@staging",    "weight": 20},
 *     {"name": "baseline",  "model": "popular",        "weight": 10}]}]}
 *
 * An arm's `model` is a model reference (`<model>`, `<model>@<alias>`, `<model>@<version>`),
 * resolved by the model lookup on every request, so an arm that names an alias follows a
 * promotion. Whether each reference resolves, and whether an experiment name collides with a
 * model name, is checked against the loaded models (checkExperiments) before the port serves.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../config';
import type { ModelLookup } from '../models/types';
import { saltSeed } from './assignment';

/**
 * Experiment and arm names are path segments (`/reco/<experiment>/…`), log fields and metric
 * label values: short, lower-case, no `@` (that is a model reference's separator).
 */
const NAME = /^[a-z][a-z0-9_-]{0,63}$/;
const nameSchema = z.string().regex(NAME, 'must be 1-64 characters: a lower-case letter, then lower-case letters, digits, _ or -');
/** Any model reference the lookup may resolve; whether it does is checked against the loaded models. */
const REF = /^[A-Za-z0-9_.-]{1,64}(@[A-Za-z0-9_.:-]{1,128})?$/;

const armSchema = z
  .object({
    name: nameSchema,
    model: z.string().regex(REF, 'must be a model reference: <model>, <model>@<alias> or <model>@<version>'),
    weight: z.int('must be a positive integer').min(1, 'must be a positive integer').max(1_000_000),
  })
  .strict();

const experimentSchema = z
  .object({
    name: nameSchema,
    salt: z.string().min(1).max(256),
    arms: z.array(armSchema).min(1).max(32),
  })
  .strict();

const fileSchema = z
  .object({ experiments: z.array(experimentSchema).max(64) })
  .strict()
  .superRefine((file, ctx) => {
    const experiments = new Set<string>();
    // Arm names are unique across all experiments: an arm is one `arm` metric label value.
    const arms = new Map<string, string>();
    file.experiments.forEach((experiment, i) => {
      if (experiments.has(experiment.name)) {
        ctx.addIssue({ code: 'custom', path: ['experiments', i, 'name'], message: `duplicate experiment name ${experiment.name}` });
      }
      experiments.add(experiment.name);
      experiment.arms.forEach((arm, j) => {
        const other = arms.get(arm.name);
        if (other !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['experiments', i, 'arms', j, 'name'],
            message: `arm name ${arm.name} is already used in experiment ${other} (arm names are unique across experiments: each is one metric label value)`,
          });
        }
        arms.set(arm.name, experiment.name);
      });
    });
  });

export type ExperimentsFile = z.infer<typeof fileSchema>;
export type Arm = ExperimentsFile['experiments'][number]['arms'][number];

/** One experiment, ready for assignment (armFor): the salt's seed and the cumulative weights computed once. */
export interface Experiment {
  readonly name: string;
  readonly salt: string;
  readonly arms: readonly Arm[];
  readonly seed: number;
  /** Running sums of the arms' weights; the last is totalWeight. */
  readonly cumulative: readonly number[];
  readonly totalWeight: number;
}

export function compileExperiment(experiment: ExperimentsFile['experiments'][number]): Experiment {
  const cumulative: number[] = [];
  let total = 0;
  for (const arm of experiment.arms) cumulative.push((total += arm.weight));
  return { name: experiment.name, salt: experiment.salt, arms: experiment.arms, seed: saltSeed(experiment.salt), cumulative, totalWeight: total };
}

function fileError(path: string, detail: string): ConfigError {
  return new ConfigError(`invalid configuration: EXPERIMENTS_FILE (${path}): ${detail}`);
}

/** Validates a parsed experiments document; throws ConfigError naming each bad field. */
export function parseExperiments(document: unknown, path = '<inline>'): Experiment[] {
  const parsed = fileSchema.safeParse(document);
  if (!parsed.success) {
    throw fileError(path, parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; '));
  }
  return parsed.data.experiments.map(compileExperiment);
}

/** Reads and validates EXPERIMENTS_FILE; throws ConfigError (unreadable, not JSON, or invalid). */
export function readExperimentsFile(path: string): Experiment[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw fileError(path, `cannot be read: ${error instanceof Error ? error.message : String(error)}`);
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw fileError(path, `is not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  return parseExperiments(document, path);
}

/**
 * The checks that need the loaded models: an experiment name must not shadow a model name
 * (both are `/reco/<name>/…`), and every arm's reference must resolve now.
 */
export function checkExperiments(experiments: readonly Experiment[], models: ModelLookup, path = '<inline>'): void {
  const problems: string[] = [];
  const modelNames = new Set(models.names());
  experiments.forEach((experiment, i) => {
    if (modelNames.has(experiment.name)) problems.push(`experiments.${i}.name: ${experiment.name} is a model name (experiment names must not collide with model names)`);
    experiment.arms.forEach((arm, j) => {
      if (models.get(arm.model) === undefined) problems.push(`experiments.${i}.arms.${j}.model: ${arm.model} does not resolve to a loaded model`);
    });
  });
  if (problems.length > 0) throw fileError(path, problems.join('; '));
}
