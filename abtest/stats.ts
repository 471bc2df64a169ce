/**
 * The statistics of the A/B report, on their own so they are checked against published values
 * (test/unit/ab-stats.test.ts): the normal distribution, the Wilson score interval of a
 * proportion, the two-proportion z-test and the minimum detectable effect.
 *
 * The unit of analysis is a recommendation (one response with an `x-recommendation-id`); a
 * success is a recommendation with at least one click. The tests assume independent units: the
 * simulator asks once per user, so units are users. A live service where a user asks many times
 * has correlated units and these intervals are then too narrow (the report says so).
 */

/** Two-sided significance level and power the report states and uses. */
export const ALPHA = 0.05;
export const POWER = 0.8;

/**
 * Standard normal CDF Φ(x), double precision: Hart's algorithm 5666 as given by G. West,
 * "Better approximations to cumulative normal functions" (Wilmott, 2005), absolute error < 1e-14.
 */
export function normalCdf(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  const z = Math.abs(x);
  let tail: number;
  if (z > 37) {
    tail = 0;
  } else {
    const e = Math.exp((-z * z) / 2);
    if (z < 7.07106781186547) {
      let n = 3.52624965998911e-2 * z + 0.700383064443688;
      n = n * z + 6.37396220353165;
      n = n * z + 33.912866078383;
      n = n * z + 112.079291497871;
      n = n * z + 221.213596169931;
      n = n * z + 220.206867912376;
      let d = 8.83883476483184e-2 * z + 1.75566716318264;
      d = d * z + 16.064177579207;
      d = d * z + 86.7807322029461;
      d = d * z + 296.564248779674;
      d = d * z + 637.333633378831;
      d = d * z + 793.826512519948;
      d = d * z + 440.413735824752;
      tail = (e * n) / d;
    } else {
      let b = z + 0.65;
      b = z + 4 / b;
      b = z + 3 / b;
      b = z + 2 / b;
      b = z + 1 / b;
      tail = e / b / 2.506628274631;
    }
  }
  return x > 0 ? 1 - tail : tail;
}

/**
 * Standard normal quantile Φ⁻¹(p): P. J. Acklam's rational approximation (relative error
 * 1.15e-9), refined by one Halley step on normalCdf, which brings it to machine precision.
 */
export function normalQuantile(p: number): number {
  if (!(p >= 0 && p <= 1)) return Number.NaN;
  if (p === 0) return Number.NEGATIVE_INFINITY;
  if (p === 1) return Number.POSITIVE_INFINITY;
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  let x: number;
  const poly = (k: number[], t: number): number => k.reduce((acc, v) => acc * t + v, 0);
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = poly(c, q) / (poly(d, q) * q + 1);
  } else if (p <= 1 - low) {
    const q = p - 0.5;
    const r = q * q;
    x = (poly(a, r) * q) / (poly(b, r) * r + 1);
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x = -poly(c, q) / (poly(d, q) * q + 1);
  }
  const e = normalCdf(x) - p;
  const u = e * Math.sqrt(2 * Math.PI) * Math.exp((x * x) / 2);
  return x - u / (1 + (x * u) / 2);
}

export interface Interval {
  low: number;
  high: number;
}

/**
 * Wilson score interval of a binomial proportion (E. B. Wilson, JASA 1927): unlike the Wald
 * interval it stays inside [0, 1] and keeps its coverage near 0 and 1, where CTRs live.
 */
export function wilsonInterval(successes: number, trials: number, confidence = 1 - ALPHA): Interval {
  if (trials <= 0) return { low: Number.NaN, high: Number.NaN };
  const z = normalQuantile(1 - (1 - confidence) / 2);
  const p = successes / trials;
  const z2n = (z * z) / trials;
  const centre = (p + z2n / 2) / (1 + z2n);
  const half = (z / (1 + z2n)) * Math.sqrt((p * (1 - p)) / trials + z2n / (4 * trials));
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

export interface ZTest {
  /** Treatment minus control, absolute. */
  difference: number;
  z: number;
  /** Two-sided. */
  pValue: number;
}

/**
 * Two-proportion z-test with the pooled variance under H0 (p₁ = p₂), two-sided — the test
 * R's prop.test(correct = FALSE) and statsmodels' proportions_ztest compute.
 */
export function twoProportionZTest(controlSuccesses: number, controlTrials: number, successes: number, trials: number): ZTest {
  const p1 = controlSuccesses / controlTrials;
  const p2 = successes / trials;
  const pooled = (controlSuccesses + successes) / (controlTrials + trials);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / controlTrials + 1 / trials));
  const difference = p2 - p1;
  if (!(se > 0)) {
    // Both arms all-success or all-failure: no evidence of a difference.
    return { difference, z: 0, pValue: 1 };
  }
  const z = difference / se;
  return { difference, z, pValue: 2 * normalCdf(-Math.abs(z)) };
}

/**
 * Minimum detectable effect (absolute CTR difference) of a two-sided two-proportion test at
 * `alpha` and `power` with these arm sizes, at the control's rate p:
 *   MDE = (z₁₋α/₂ + z_power) · √(p(1−p) · (1/n₁ + 1/n₂)).
 * With n₁ = n₂ = n this is Lehr's rule n ≈ 16·p(1−p)/δ² (α = 0.05, power 0.8).
 */
export function minimumDetectableEffect(controlRate: number, controlTrials: number, trials: number, alpha = ALPHA, power = POWER): number {
  if (controlTrials <= 0 || trials <= 0) return Number.NaN;
  const zSum = normalQuantile(1 - alpha / 2) + normalQuantile(power);
  return zSum * Math.sqrt(controlRate * (1 - controlRate) * (1 / controlTrials + 1 / trials));
}

/** The report's minimum sample: below it an arm's comparison is "not enough data". */
export const MIN_RECOMMENDATIONS = 100;
export const MIN_EXPECTED_CLICKS = 10;

/**
 * Whether a comparison has enough data for the normal approximation: each arm ≥
 * MIN_RECOMMENDATIONS recommendations, and ≥ MIN_EXPECTED_CLICKS expected clicks and
 * non-clicks per arm at the pooled rate (the usual np ≥ 10 rule).
 */
export function enoughData(controlSuccesses: number, controlTrials: number, successes: number, trials: number): boolean {
  if (controlTrials < MIN_RECOMMENDATIONS || trials < MIN_RECOMMENDATIONS) return false;
  const pooled = (controlSuccesses + successes) / (controlTrials + trials);
  const least = Math.min(controlTrials, trials);
  return least * pooled >= MIN_EXPECTED_CLICKS && least * (1 - pooled) >= MIN_EXPECTED_CLICKS;
}
