/**
 * What the A/B acceptance tests share: a synthetic dataset split in time as `npm run evaluate`
 * splits it, its train part written as the service's dataset, the simulator's users, and an
 * experiments file.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { temporalSplit } from '../../evaluation/split';
import { simulatedUsers, writeTrainCsv, type SimulatedUser } from '../../loadtest/simulate';
import { generateInteractions, type SyntheticParams } from '../../src/data/synthetic';

export interface ArmSpec {
  name: string;
  model: string;
  weight: number;
}
export interface ExperimentSpec {
  name: string;
  salt: string;
  arms: ArmSpec[];
}

export interface AbWorld {
  /** The train part, for the service's DATASET. */
  trainCsv: string;
  experimentsFile: string;
  users: SimulatedUser[];
}

/** Writes `dir`/train.csv and `dir`/experiments.json; the users are the split's test users in the seed's order. */
export async function abWorld(dir: string, params: SyntheticParams, experiments: ExperimentSpec[], seed = 42): Promise<AbWorld> {
  const split = temporalSplit(generateInteractions(params), { kind: 'days', days: 7 });
  const trainCsv = join(dir, 'train.csv');
  await writeTrainCsv(split.train, trainCsv);
  const experimentsFile = join(dir, 'experiments.json');
  writeFileSync(experimentsFile, `${JSON.stringify({ experiments }, null, 2)}\n`);
  return { trainCsv, experimentsFile, users: simulatedUsers(split, seed) };
}
