/**
 * Which user each request asks about: a Zipf-like draw over the dataset's known users (a few
 * users make most requests, as in production) plus a share of users the service has never
 * seen (cold start), all from one seeded PRNG so a run's request sequence is reproducible.
 */
import { createRng, shuffledIds, type Rng } from '../src/data/prng';

/**
 * Unknown users are drawn from [COLD_USER_MIN, COLD_USER_MAX): valid ids (the service answers
 * ids up to 10^9 with a cold-start list) far above any synthetic dataset's 0..users-1.
 */
export const COLD_USER_MIN = 500_000_000;
export const COLD_USER_MAX = 1_000_000_000;

export interface UserSamplerOptions {
  /** Known users are the ids 0..knownUsers-1 (the synthetic dataset's users). */
  knownUsers: number;
  /** Probability that a request asks about an unknown user, in [0, 1]. */
  coldShare: number;
  /** P(rank r) ∝ 1 / r^exponent; 0 is uniform. */
  zipfExponent: number;
  seed: number;
}

export interface UserDraw {
  id: number;
  cold: boolean;
}

export interface UserSampler {
  next(): UserDraw;
}

export function createUserSampler(options: UserSamplerOptions, rng: Rng = createRng(options.seed)): UserSampler {
  const { knownUsers, coldShare, zipfExponent } = options;
  if (!Number.isInteger(knownUsers) || knownUsers < 1 || knownUsers > COLD_USER_MIN) {
    throw new RangeError(`knownUsers must be an integer in [1, ${COLD_USER_MIN}], got ${knownUsers}`);
  }
  if (!(coldShare >= 0 && coldShare <= 1)) throw new RangeError(`coldShare must be in [0, 1], got ${coldShare}`);
  if (!(zipfExponent >= 0)) throw new RangeError(`zipfExponent must be >= 0, got ${zipfExponent}`);

  const cdf = new Float64Array(knownUsers);
  let total = 0;
  for (let r = 0; r < knownUsers; r++) {
    total += Math.pow(r + 1, -zipfExponent);
    cdf[r] = total;
  }
  // A seeded shuffle assigns ranks to ids, so the hot users are not simply the lowest ids.
  const userOfRank = shuffledIds(knownUsers, rng);

  return {
    next(): UserDraw {
      if (coldShare > 0 && rng.next() < coldShare) {
        return { id: COLD_USER_MIN + rng.int(COLD_USER_MAX - COLD_USER_MIN), cold: true };
      }
      const u = rng.next() * total;
      let lo = 0;
      let hi = knownUsers - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if ((cdf[mid] as number) < u) lo = mid + 1;
        else hi = mid;
      }
      return { id: userOfRank[lo] as number, cold: false };
    },
  };
}

/** Picks one of `weights` (positive numbers) with probability proportional to its weight. */
export function createWeightedPicker(weights: readonly number[], rng: Rng): () => number {
  if (weights.length === 0) throw new RangeError('no weights');
  const cdf: number[] = [];
  let total = 0;
  for (const w of weights) {
    if (!(w > 0)) throw new RangeError(`weights must be positive, got ${w}`);
    total += w;
    cdf.push(total);
  }
  if (weights.length === 1) return () => 0;
  return () => {
    const u = rng.next() * total;
    for (let i = 0; i < cdf.length; i++) if (u < (cdf[i] as number)) return i;
    return cdf.length - 1;
  };
}
