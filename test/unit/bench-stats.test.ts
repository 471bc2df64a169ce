import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { check, median, pairedRatio, percentileSorted, ratio, roundOrder } from '../../bench/stats';
import { scenarioPaths } from '../../bench/paths';
import { parseCpuList } from '../../loadtest/cpu';

describe('median', () => {
  it('takes the middle value, averaging the middle two for even counts', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(median([7]), 7);
  });
  it('ignores NaN and is NaN when nothing is left', () => {
    assert.equal(median([Number.NaN, 5, 1, Number.NaN, 3]), 3);
    assert.ok(Number.isNaN(median([])));
    assert.ok(Number.isNaN(median([Number.NaN])));
  });
  it('does not reorder its input', () => {
    const xs = [3, 1, 2];
    median(xs);
    assert.deepEqual(xs, [3, 1, 2]);
  });
});

describe('percentileSorted (nearest rank)', () => {
  const xs = Float64Array.from({ length: 100 }, (_, i) => i + 1); // 1..100
  it('p50 and p99 of 1..100 are 50 and 99', () => {
    assert.equal(percentileSorted(xs, 50), 50);
    assert.equal(percentileSorted(xs, 99), 99);
    assert.equal(percentileSorted(xs, 100), 100);
    assert.equal(percentileSorted(xs, 0), 1);
  });
  it('p99 of a small sample is its maximum, never an interpolated value', () => {
    assert.equal(percentileSorted([1, 2, 3], 99), 3);
    assert.equal(percentileSorted([0.5, 10], 50), 0.5);
  });
  it('is NaN for an empty sample', () => {
    assert.ok(Number.isNaN(percentileSorted([], 50)));
  });
});

describe('ratios', () => {
  it('ratio is NaN for a missing or zero denominator', () => {
    assert.equal(ratio(90, 100), 0.9);
    assert.ok(Number.isNaN(ratio(1, 0)));
    assert.ok(Number.isNaN(ratio(Number.NaN, 1)));
  });
  it('pairedRatio is the median of per-round ratios, not a ratio of medians', () => {
    // Round 2 ran while the machine was slow for both targets: per-round pairing cancels it.
    const a = [900, 450, 910];
    const b = [1000, 500, 1010];
    assert.equal(pairedRatio(a, b), 0.9);
    // A ratio of medians would mix rounds: 900 / 1000 here happens to agree, so skew it.
    const c = [900, 300, 880];
    const d = [1000, 1000, 1100];
    assert.equal(pairedRatio(c, d), 0.8);
  });
  it('pairedRatio skips rounds where either side is missing', () => {
    assert.equal(pairedRatio([100, undefined, 300], [200, 100, 300]), 0.75);
    assert.ok(Number.isNaN(pairedRatio([undefined], [1])));
  });
});

describe('roundOrder', () => {
  const ids = ['a', 'b', 'c', 'd'];
  it('every round runs every target exactly once', () => {
    for (let r = 0; r < 6; r++) assert.deepEqual([...roundOrder(ids, r)].sort(), ids);
  });
  it('round r starts with target r, so over n rounds every target is first once', () => {
    const firsts = [0, 1, 2, 3].map((r) => roundOrder(ids, r)[0]);
    assert.deepEqual(firsts, ['a', 'b', 'c', 'd']);
    const eleven = Array.from({ length: 11 }, (_, i) => i);
    assert.deepEqual([0, 1, 2, 3, 4].map((r) => roundOrder(eleven, r)[0]), [0, 1, 2, 3, 4]);
  });
  it('odd rounds run in reverse, so neighbours change', () => {
    assert.deepEqual(roundOrder(ids, 0), ['a', 'b', 'c', 'd']);
    assert.deepEqual(roundOrder(ids, 1), ['b', 'a', 'd', 'c']);
    assert.deepEqual(roundOrder(ids, 2), ['c', 'd', 'a', 'b']);
    assert.deepEqual(roundOrder(ids, 3), ['d', 'c', 'b', 'a']);
  });
  it('handles an empty list', () => {
    assert.deepEqual(roundOrder([], 3), []);
  });
});

describe('check', () => {
  const fmt = (v: number) => v.toFixed(2);
  it('met / missed on both sides of the limit, inclusive for ≥', () => {
    assert.equal(check('x', 0.9, '>=', 0.9, fmt).verdict, 'met');
    assert.equal(check('x', 0.89, '>=', 0.9, fmt).verdict, 'missed');
    assert.equal(check('x', 19.9, '<', 20, fmt).verdict, 'met');
    assert.equal(check('x', 20, '<', 20, fmt).verdict, 'missed');
  });
  it('not measured when the value is missing', () => {
    const c = check('x', undefined, '<', 20, fmt, 'skipped with --quick');
    assert.equal(c.verdict, 'not measured');
    assert.equal(c.measured, '—');
    assert.equal(c.note, 'skipped with --quick');
    assert.equal(check('x', Number.NaN, '<', 20, fmt).verdict, 'not measured');
  });
});

describe('parseCpuList', () => {
  it('parses kernel CPU lists', () => {
    assert.deepEqual(parseCpuList('0-1'), [0, 1]);
    assert.deepEqual(parseCpuList('0-2,5,7-8\n'), [0, 1, 2, 5, 7, 8]);
    assert.deepEqual(parseCpuList('3'), [3]);
    assert.deepEqual(parseCpuList(''), []);
  });
});

describe('scenarioPaths', () => {
  it('health is always /health', () => {
    assert.deepEqual(new Set(scenarioPaths({ scenario: 'health', knownUsers: 100, count: 50 })), new Set(['/health']));
  });
  it('reco paths ask about known users only, Zipf-skewed, the same on every call', () => {
    const paths = scenarioPaths({ scenario: 'knn', knownUsers: 1000, count: 4096 });
    assert.deepEqual(paths, scenarioPaths({ scenario: 'knn', knownUsers: 1000, count: 4096 }));
    const counts = new Map<number, number>();
    for (const p of paths) {
      const m = /^\/reco\/knn\/(\d+)$/.exec(p);
      assert.ok(m, p);
      const id = Number(m[1]);
      assert.ok(id >= 0 && id < 1000, `known user ${id}`);
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    // Zipf: the hottest user gets several percent of the requests, far above uniform's 0.1%.
    assert.ok(Math.max(...counts.values()) / paths.length > 0.03);
  });
});
