import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IdIndex } from '../../src/data/id-index';
import { InteractionsBuilder } from '../../src/data/interactions';
import { PopularRecommender, trainPopular } from '../../src/models/popular';
import { ModelRegistry } from '../../src/models/registry';
import type { StageAttributes, StageName, Stages } from '../../src/models/stages';
import { untracedStages } from '../../src/models/stages';

const DAY = 86_400;
const END = 1_700_000_000;

describe('interaction store', () => {
  it('rejects ids outside [0, 2^31) and non-positive weights', () => {
    const b = new InteractionsBuilder();
    assert.throws(() => b.append(-1, 1, 1, 0), /user id -1 is not an integer/);
    assert.throws(() => b.append(2 ** 31, 1, 1, 0), /user id 2147483648/);
    assert.throws(() => b.append(1, 1.5, 1, 0), /item id 1.5/);
    assert.throws(() => b.append(1, 1, 0, 0), /weight 0/);
    assert.throws(() => b.append(1, 1, 1, -5), /timestamp -5/);
  });

  it('id lookups: dense table and sparse (binary search) agree; unknown ids give -1', () => {
    const compact = IdIndex.fromColumn(Int32Array.from([5, 3, 9, 3]));
    const sparse = IdIndex.fromColumn(Int32Array.from([2_000_000_000, 7, 1_000_000]));
    assert.deepEqual([...compact.ids], [3, 5, 9]);
    assert.deepEqual([compact.indexOf(3), compact.indexOf(9), compact.indexOf(4), compact.indexOf(-1), compact.indexOf(1e9), compact.indexOf(3.5)], [0, 2, -1, -1, -1, -1]);
    assert.deepEqual([sparse.indexOf(7), sparse.indexOf(1_000_000), sparse.indexOf(2_000_000_000), sparse.indexOf(8)], [0, 1, 2, -1]);
  });
});

function data() {
  // Item 1: popular long ago (3 users, 30 days back); item 2: 2 users inside the window;
  // item 3: 1 user inside; item 4: 2 users long ago.
  const b = new InteractionsBuilder();
  b.append(10, 1, 1, END - 30 * DAY);
  b.append(11, 1, 1, END - 30 * DAY);
  b.append(12, 1, 1, END - 30 * DAY);
  b.append(10, 2, 1, END - DAY);
  b.append(13, 2, 1, END);
  b.append(13, 3, 1, END - 2 * DAY);
  b.append(11, 4, 1, END - 40 * DAY);
  b.append(12, 4, 1, END - 40 * DAY);
  return b.build().interactions;
}

describe('popular', () => {
  it('ranks the window (ending at the newest interaction) first, then all-time', () => {
    const d = data();
    const state = trainPopular(d, { windowDays: 14 });
    assert.deepEqual([...state.ranked].map((i) => d.items.ids[i]), [2, 3, 1, 4]);
    assert.equal(state.windowItems, 2);
    // A 60-day window sees everything: all-time order.
    const wide = trainPopular(d, { windowDays: 60 });
    assert.deepEqual([...wide.ranked].map((i) => d.items.ids[i]), [1, 2, 4, 3]);
  });

  it('filters what the user has seen; unknown users get coldStart', () => {
    const d = data();
    const m = new PopularRecommender('popular', d, trainPopular(d, { windowDays: 14 }));
    assert.deepEqual(m.recommend(10, 10, untracedStages), { items: [3, 4], coldStart: false, fallback: 0 });
    assert.deepEqual(m.recommend(13, 1, untracedStages), { items: [1], coldStart: false, fallback: 0 });
    assert.deepEqual(m.recommend(999, 2, untracedStages), { items: [2, 3], coldStart: true, fallback: 0 });
  });

  it('reports its stages with attributes', () => {
    const d = data();
    const m = new PopularRecommender('popular', d, trainPopular(d, { windowDays: 14 }));
    const seen: [StageName, StageAttributes][] = [];
    const recording: Stages = {
      run: (name, fn) => fn({ setAttributes: (a) => seen.push([name, a]) }),
    };
    m.recommend(10, 10, recording);
    assert.deepEqual(
      seen.map(([n]) => n),
      ['reco.load_history', 'reco.score', 'reco.filter_seen'],
    );
    assert.equal(seen[0]?.[1]['reco.history_length'], 2);
    assert.equal(seen[1]?.[1]['reco.model'], 'popular');
    assert.equal(seen[2]?.[1]['reco.results'], 2);
  });
});

describe('model registry', () => {
  it('does not resolve prototype keys', () => {
    const r = new ModelRegistry();
    const d = data();
    r.add(new PopularRecommender('popular', d, trainPopular(d, { windowDays: 14 })));
    assert.equal(r.get('popular')?.name, 'popular');
    for (const key of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) assert.equal(r.get(key), undefined, key);
    assert.deepEqual(r.names(), ['popular']);
  });
});
