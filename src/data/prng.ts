/**
 * A tiny seeded PRNG (xoshiro128**, seeded through splitmix32).
 *
 * Written out rather than taken from a package so the synthetic dataset is a pure function of
 * its seed: only 32-bit integer operations (Math.imul, shifts), which JavaScript defines
 * exactly, so the same seed gives the same stream on every platform and Node version.
 */
export interface Rng {
  /** Uniform in [0, 1), 32 bits of resolution. */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
}

/** splitmix32: spreads a small seed over the whole state, so seeds 1 and 2 are unrelated. */
function splitmix32(seed: number): () => number {
  let s = seed | 0;
  return () => {
    s = (s + 0x9e3779b9) | 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

const TWO_POW_32 = 4294967296;

export function createRng(seed: number): Rng {
  const init = splitmix32(seed);
  let a = init();
  let b = init();
  let c = init();
  let d = init();
  // xoshiro's only forbidden state is all zeros; splitmix32 cannot produce four zeros in a
  // row for any seed, but a guard costs nothing.
  if ((a | b | c | d) === 0) a = 1;

  const nextU32 = (): number => {
    const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return result;
  };

  return {
    next: () => nextU32() / TWO_POW_32,
    int: (n: number) => Math.floor((nextU32() / TWO_POW_32) * n),
  };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** 0..n-1 in a seeded random order (Fisher–Yates), e.g. to decide which ids are the hits. */
export function shuffledIds(n: number, rng: Rng): Int32Array {
  const ids = new Int32Array(n);
  for (let i = 0; i < n; i++) ids[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = ids[i] as number;
    ids[i] = ids[j] as number;
    ids[j] = t;
  }
  return ids;
}
