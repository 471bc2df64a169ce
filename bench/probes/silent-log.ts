import type { ModelLog } from '../../src/models/registry';

/** Probes report through their result line only. */
export const silentModelLog: ModelLog = {
  info: () => undefined,
  warn: () => undefined,
};
