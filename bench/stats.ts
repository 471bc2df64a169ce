/**
 * The arithmetic of the benchmark, kept pure so it is unit-tested: medians, percentiles,
 * paired ratios and the target verdicts.
 */

/** Median of finite values; NaN for an empty list. Even counts average the middle two. */
export function median(values: readonly number[]): number {
  const xs = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (xs.length === 0) return Number.NaN;
  const mid = xs.length >> 1;
  return xs.length % 2 === 1 ? (xs[mid] as number) : ((xs[mid - 1] as number) + (xs[mid] as number)) / 2;
}

/**
 * Nearest-rank percentile (p in [0, 100]) of an already ascending-sorted array: the smallest
 * value with at least p% of the values at or below it. NaN when empty.
 */
export function percentileSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  if (p <= 0) return sorted[0] as number;
  const rank = Math.min(n, Math.ceil((p / 100) * n));
  return sorted[rank - 1] as number;
}

/** a / b, or NaN when either is not a positive finite number. */
export function ratio(a: number, b: number): number {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b <= 0 || a < 0) return Number.NaN;
  return a / b;
}

/**
 * Ratio of two targets measured in the same rounds: the median of the per-round ratios.
 * Rounds where either side is missing are skipped. Pairing by round cancels slow drift of the
 * machine (both sides of a pair ran seconds apart), which a ratio of two medians would not.
 */
export function pairedRatio(numerator: readonly (number | undefined)[], denominator: readonly (number | undefined)[]): number {
  const ratios: number[] = [];
  const n = Math.min(numerator.length, denominator.length);
  for (let i = 0; i < n; i++) {
    const a = numerator[i];
    const b = denominator[i];
    if (a === undefined || b === undefined) continue;
    const r = ratio(a, b);
    if (Number.isFinite(r)) ratios.push(r);
  }
  return median(ratios);
}

/**
 * The order targets run in, round by round. Round r starts with target r (mod n), so no
 * target is always first; even rounds keep the listed order (rotated), odd rounds reverse
 * it, so each target's neighbours change too. Slow drift of a busy machine then hits every
 * target alike instead of always the ones listed last.
 */
export function roundOrder<T>(targets: readonly T[], round: number): T[] {
  const n = targets.length;
  if (n === 0) return [];
  const rotate = (by: number): T[] => {
    const shift = ((by % n) + n) % n;
    return [...targets.slice(shift), ...targets.slice(0, shift)];
  };
  // Reversing the rotation by r + 1 puts target r first.
  return round % 2 === 0 ? rotate(round) : rotate(round + 1).reverse();
}

export type Verdict = 'met' | 'missed' | 'not measured';

export interface TargetCheck {
  name: string;
  verdict: Verdict;
  /** The measured value as text, e.g. "0.93×" or "41.2 s". */
  measured: string;
  /** The goal as text, e.g. "≥ 0.90×". */
  goal: string;
  note?: string;
}

/** met when `value op limit`; "not measured" when the value is missing or NaN. */
export function check(
  name: string,
  value: number | undefined,
  op: '>=' | '<' | '<=',
  limit: number,
  format: (v: number) => string,
  note?: string,
): TargetCheck {
  const goal = `${op === '>=' ? '≥' : op === '<=' ? '≤' : '<'} ${format(limit)}`;
  if (value === undefined || !Number.isFinite(value)) {
    return { name, verdict: 'not measured', measured: '—', goal, ...(note === undefined ? {} : { note }) };
  }
  const ok = op === '>=' ? value >= limit : op === '<=' ? value <= limit : value < limit;
  return { name, verdict: ok ? 'met' : 'missed', measured: format(value), goal, ...(note === undefined ? {} : { note }) };
}
