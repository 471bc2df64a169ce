/**
 * The A/B report's statistics against published values; each expected number names its source.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { enoughData, minimumDetectableEffect, normalCdf, normalQuantile, twoProportionZTest, wilsonInterval } from '../../abtest/stats';

const close = (actual: number, expected: number, tolerance: number, what: string): void => {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} is not within ${tolerance} of ${expected}`);
};

describe('normal distribution', () => {
  it('Φ and Φ⁻¹ match the standard normal table', () => {
    // Abramowitz & Stegun, Handbook of Mathematical Functions, table 26.1 (P(x) to 15 places).
    close(normalCdf(1.96), 0.9750021048517795, 1e-14, 'Φ(1.96)');
    close(normalCdf(-3), 0.0013498980316301, 1e-15, 'Φ(−3)');
    close(normalCdf(0), 0.5, 1e-15, 'Φ(0)');
    // A & S table 26.5 (percentage points): z(0.025) = 1.959963985, z(0.2) = 0.841621234.
    close(normalQuantile(0.975), 1.959963984540054, 1e-12, 'Φ⁻¹(0.975)');
    close(normalQuantile(0.8), 0.8416212335729143, 1e-12, 'Φ⁻¹(0.8)');
    close(normalQuantile(1e-6), -4.753424308822899, 1e-9, 'Φ⁻¹(1e−6)');
  });
  it('Φ⁻¹ inverts Φ across the range', () => {
    for (const p of [1e-10, 0.001, 0.02425, 0.3, 0.5, 0.9, 0.97575, 0.999999]) close(normalCdf(normalQuantile(p)), p, 1e-12 * Math.max(1, p * 1e3), `Φ(Φ⁻¹(${p}))`);
  });
});

describe('Wilson score interval', () => {
  // R. G. Newcombe, "Two-sided confidence intervals for the single proportion: comparison of
  // seven methods", Statistics in Medicine 17 (1998) 857–872, Table II, method 3 (score, no
  // continuity correction), 95 %.
  const cases: [number, number, number, number][] = [
    [81, 263, 0.2553, 0.3662],
    [15, 148, 0.0624, 0.1605],
    [0, 20, 0, 0.1611],
    [1, 29, 0.0061, 0.1718],
  ];
  for (const [x, n, low, high] of cases) {
    it(`${x}/${n} → ${low}–${high}`, () => {
      const ci = wilsonInterval(x, n);
      close(ci.low, low, 5e-5, 'low');
      close(ci.high, high, 5e-5, 'high');
    });
  }
  it('is undefined (NaN) without trials, and narrows as n grows', () => {
    assert.ok(Number.isNaN(wilsonInterval(0, 0).low));
    const a = wilsonInterval(10, 100);
    const b = wilsonInterval(100, 1000);
    assert.ok(b.high - b.low < a.high - a.low);
  });
});

describe('two-proportion z-test', () => {
  it('matches statsmodels proportions_ztest([5, 12], [83, 99]) → p = 0.159', () => {
    // statsmodels.stats.proportion.proportions_ztest docstring example (two-sided, pooled):
    // `count = [5, 12]; nobs = [83, 99]` prints pval 0.159; its z (−1.408) is p₁ − p₂, ours p₂ − p₁.
    const t = twoProportionZTest(5, 83, 12, 99);
    close(t.z, 1.4078, 5e-5, 'z');
    close(t.pValue, 0.159, 5e-4, 'p-value');
    close(t.difference, 12 / 99 - 5 / 83, 1e-15, 'difference');
  });
  it('has p = 1 at equal proportions and when both arms never click', () => {
    assert.equal(twoProportionZTest(10, 100, 20, 200).pValue, 1);
    assert.equal(twoProportionZTest(0, 100, 0, 200).pValue, 1);
  });
});

describe('minimum detectable effect', () => {
  it("obeys Lehr's rule: n = 15.68·p(1−p)/δ² per arm detects δ at α 0.05, power 0.8", () => {
    // G. van Belle, Statistical Rules of Thumb (2nd ed., 2008), §2.3: n per group =
    // 2(z₀.₉₇₅ + z₀.₈)²σ²/δ² = 15.68σ²/δ² (≈ 16σ²/δ²), with σ² = p(1−p) for a proportion.
    const p = 0.1;
    const delta = 0.02;
    const n = (2 * (1.959963984540054 + 0.8416212335729143) ** 2 * p * (1 - p)) / delta ** 2;
    close(minimumDetectableEffect(p, n, n), delta, 1e-12, 'MDE');
  });
  it('shrinks with the square root of the sample', () => {
    close(minimumDetectableEffect(0.1, 400, 400) / minimumDetectableEffect(0.1, 1600, 1600), 2, 1e-12, 'ratio');
  });
});

describe('minimum sample', () => {
  it('needs 100 recommendations per arm and 10 expected clicks and non-clicks', () => {
    assert.equal(enoughData(10, 99, 10, 1000), false);
    assert.equal(enoughData(5, 100, 4, 100), false); // 100 · 0.045 = 4.5 expected clicks
    assert.equal(enoughData(10, 100, 10, 100), true);
    assert.equal(enoughData(95, 100, 95, 100), false); // 5 expected non-clicks
  });
});
