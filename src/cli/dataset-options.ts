/**
 * The dataset/model options the training and evaluation CLIs share: the environment config
 * (a bad variable is a usage error: exit 2 and the usage, like a bad flag) with `--dataset`
 * applied, and the `--models a,b` list.
 */
import type { Config } from '../config';
import { ConfigError, loadConfig } from '../config';
import type { ModelName } from '../models/catalog';
import { MODEL_NAMES, parseModelList } from '../models/catalog';
import { UsageError } from './usage';

/** The config from the environment, its dataset source overridden by `--dataset` when given. */
export function configWithDataset(dataset: string | undefined): Config {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    // A bad environment variable: the same exit 2 and usage as a bad flag.
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
  if (dataset !== undefined) config.dataset.source = dataset;
  return config;
}

/** `--models a,b` (every model when absent). */
export function modelsOption(value: string | undefined): ModelName[] {
  if (value === undefined) return [...MODEL_NAMES];
  try {
    return parseModelList(value);
  } catch (err) {
    throw new UsageError(`--models: ${(err as Error).message}`);
  }
}
