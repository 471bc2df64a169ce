/**
 * Which arm of an experiment a user is in: a salted hash of the user id, so the assignment is
 * sticky (same user, same salt → same arm, in every process and every run, with nothing
 * stored) and uniform (each arm gets its weight's share of users).
 *
 * The hash is MurmurHash3 (x86, 32-bit): the user id is one 4-byte block, the seed is the
 * MurmurHash3 of the experiment's salt. MurmurHash3 passes SMHasher's distribution,
 * avalanche and bit-independence tests, so consecutive ids (1, 2, 3, … as datasets number
 * users) land in unrelated buckets; test/unit/experiments.test.ts measures the split over
 * 100 000 ids against the weights (within ±1.5 %) and that a new salt reshuffles users.
 * The bucket is the hash's high bits scaled to the total weight (`h * total / 2^32`), whose
 * bias is at most total / 2^32 (below 10^-7 for weights summing to a few hundred).
 *
 * Cost per request: six Math.imul, a few shifts and a linear scan of the (few) arms' cumulative
 * weights, no allocation: tens of nanoseconds against a request of tens of microseconds. A
 * cryptographic hash (SHA-256 via node:crypto) would cost about a microsecond and buys nothing
 * here: the salt is not secret and users do not choose their ids.
 */
import type { Arm, Experiment } from './config';

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

function mixBlock(h: number, block: number): number {
  let k = Math.imul(block, C1);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, C2);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function finalMix(h: number, length: number): number {
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** MurmurHash3_x86_32 of `bytes` (the reference algorithm; used once per salt). */
export function murmur3(bytes: Uint8Array, seed = 0): number {
  let h = seed | 0;
  const blocks = bytes.length >>> 2;
  for (let i = 0; i < blocks; i++) {
    const o = i * 4;
    h = mixBlock(h, bytes[o]! | (bytes[o + 1]! << 8) | (bytes[o + 2]! << 16) | (bytes[o + 3]! << 24));
  }
  const tail = blocks * 4;
  const rest = bytes.length & 3;
  if (rest > 0) {
    // The last 1-3 bytes, little-endian, mixed like a block without the rotation of h.
    let k = 0;
    for (let i = rest - 1; i >= 0; i--) k = (k << 8) | bytes[tail + i]!;
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
  }
  return finalMix(h, bytes.length);
}

/** The seed an experiment's salt stands for. */
export function saltSeed(salt: string): number {
  return murmur3(new TextEncoder().encode(salt));
}

/** MurmurHash3_x86_32 of the user id as one little-endian 4-byte block: what `murmur3` gives for those bytes. */
export function userHash(userId: number, seed: number): number {
  return finalMix(mixBlock(seed, userId | 0), 4);
}

/** The arm `userId` is in. User ids are the service's (0 … 10^9, so one 32-bit block). */
export function armFor(experiment: Experiment, userId: number): Arm {
  const { arms, cumulative, totalWeight, seed } = experiment;
  // High bits scaled to the total weight: floor(h * total / 2^32), exact in a double.
  const bucket = Math.floor((userHash(userId, seed) * totalWeight) / 4_294_967_296);
  for (let i = 0; i < cumulative.length; i++) if (bucket < cumulative[i]!) return arms[i]!;
  // Unreachable (bucket < totalWeight = the last cumulative weight); keeps the type total.
  return arms[arms.length - 1]!;
}
