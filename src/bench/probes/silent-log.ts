import type { ModelLog } from '../../models/registry';

/** Probes report through their result line only. */
export const silentModelLog: ModelLog = {
  info: () => undefined,
  warn: () => undefined,
};
