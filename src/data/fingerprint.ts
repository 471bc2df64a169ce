/**
 * A dataset fingerprint: sha256 over the store's arrays themselves, not over a path or mtime,
 * so it changes exactly when the data the models see changes (and a CSV and the in-memory
 * generation of the same synthetic data agree). Hashing Kion-scale arrays (~70 MB) takes
 * a fraction of a second, paid once at start-up.
 */
import { createHash } from 'node:crypto';
import type { Interactions } from './interactions';

/** Bump when the store's layout or the meaning of its values changes. */
const FINGERPRINT_VERSION = 'recoscope-interactions-v1';

export function fingerprintInteractions(data: Interactions): string {
  const hash = createHash('sha256');
  hash.update(`${FINGERPRINT_VERSION}\n${data.nUsers},${data.nItems},${data.nnz}\n`);
  for (const array of [data.users.ids, data.items.ids, data.userPtr, data.itemIdx, data.weights, data.timestamps]) {
    hash.update(new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
  }
  return hash.digest('hex');
}
