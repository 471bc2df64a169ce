/**
 * The experiments a process serves (EXPERIMENTS_FILE): looked up by name on the reco route,
 * which resolves the user's arm (armFor) to a model through the model lookup.
 */
import type { ModelLookup, Recommender } from '../models/types';
import { armFor } from './assignment';
import type { Arm, Experiment } from './config';

export { armFor } from './assignment';
export { checkExperiments, parseExperiments, readExperimentsFile, type Arm, type Experiment } from './config';

/** A Map underneath, so names like `__proto__` are simply unknown. */
export class Experiments {
  private readonly byName = new Map<string, Experiment>();

  constructor(experiments: readonly Experiment[] = []) {
    for (const experiment of experiments) this.byName.set(experiment.name, experiment);
  }

  get(name: string): Experiment | undefined {
    return this.byName.get(name);
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  /** Every configured arm name (unique across experiments): the `arm` label's values. */
  armNames(): string[] {
    return [...this.byName.values()].flatMap((experiment) => experiment.arms.map((arm) => arm.name));
  }
}

export interface Served {
  arm: Arm;
  /** Undefined when the arm's reference no longer resolves (checked at start-up, so only after a registry change). */
  model: Recommender | undefined;
}

/** The user's arm and the model it resolves to now (an alias follows promotions). */
export function serveArm(experiment: Experiment, userId: number, models: ModelLookup): Served {
  const arm = armFor(experiment, userId);
  return { arm, model: models.get(arm.model) };
}
