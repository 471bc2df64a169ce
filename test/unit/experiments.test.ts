/**
 * The experiments file and the assignment: MurmurHash3 against its reference vectors, the
 * split over 100 000 ids against the weights, stickiness, a new salt reshuffling users, and
 * every validation rule of the file naming the bad field.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/config';
import { armFor, murmur3, userHash } from '../../src/experiments/assignment';
import { checkExperiments, parseExperiments, readExperimentsFile, type Experiment } from '../../src/experiments/config';
import { Experiments } from '../../src/experiments';
import { RecentRecommendations } from '../../src/experiments/recent';
import type { ModelLookup, Recommender } from '../../src/models/types';

const USERS = 100_000;

function experiment(weights: number[], salt = '2026-12', prefix = 'arm'): Experiment {
  const [parsed] = parseExperiments({
    experiments: [{ name: 'homepage', salt, arms: weights.map((weight, i) => ({ name: `${prefix}${i}`, model: 'knn', weight })) }],
  });
  assert.ok(parsed);
  return parsed;
}

/** Each arm's share of users 1..USERS, in percent. */
function shares(e: Experiment): number[] {
  const counts = new Map<string, number>();
  for (let u = 1; u <= USERS; u++) {
    const arm = armFor(e, u).name;
    counts.set(arm, (counts.get(arm) ?? 0) + 1);
  }
  return e.arms.map((arm) => ((counts.get(arm.name) ?? 0) / USERS) * 100);
}

describe('assignment (armFor)', () => {
  it('is MurmurHash3_x86_32: the reference test vectors', () => {
    const bytes = (s: string) => new TextEncoder().encode(s);
    assert.equal(murmur3(bytes(''), 0), 0);
    assert.equal(murmur3(bytes(''), 1), 0x514e28b7);
    assert.equal(murmur3(bytes(''), 0xffffffff), 0x81f16f39);
    assert.equal(murmur3(bytes('test'), 0), 0xba6bd213);
    assert.equal(murmur3(bytes('Hello, world!'), 1234), 0xfaf6cdb3);
    assert.equal(murmur3(bytes('The quick brown fox jumps over the lazy dog'), 0x9747b28c), 0x2fa826cd);
  });

  it('hashes a user id as its 4 little-endian bytes (the fast path is the reference algorithm)', () => {
    for (const [id, seed] of [[0, 0], [1, 42], [123_456, 0x9747b28c], [1_000_000_000, 7]] as const) {
      const le = new Uint8Array(new Uint32Array([id]).buffer);
      assert.equal(userHash(id, seed), murmur3(le, seed), `user ${id}`);
    }
  });

  for (const weights of [[70, 20, 10], [50, 50]]) {
    it(`splits ${USERS} ids ${weights.join('/')} within ±1.5 percentage points of the weights`, () => {
      const got = shares(experiment(weights));
      const total = weights.reduce((a, b) => a + b, 0);
      weights.forEach((w, i) => {
        const want = (w / total) * 100;
        assert.ok(Math.abs(got[i]! - want) <= 1.5, `arm ${i}: ${got[i]!.toFixed(2)} % of users, weight ${want} %`);
      });
    });
  }

  it('is sticky: the same user gets the same arm from a separately parsed copy of the experiment', () => {
    const a = experiment([70, 20, 10]);
    const b = experiment([70, 20, 10]);
    for (let u = 0; u < 1000; u++) assert.equal(armFor(a, u).name, armFor(b, u).name);
  });

  it('a new salt reshuffles users: agreement drops to what independent assignments give', () => {
    const weights = [70, 20, 10];
    const a = experiment(weights, '2026-12');
    const b = experiment(weights, '2027-01');
    let same = 0;
    for (let u = 1; u <= USERS; u++) if (armFor(a, u).name === armFor(b, u).name) same++;
    // Independent assignments agree with probability Σ w² = 0.49 + 0.04 + 0.01 = 0.54.
    const agreement = same / USERS;
    assert.ok(Math.abs(agreement - 0.54) < 0.01, `agreement ${agreement}`);
  });
});

const VALID = {
  experiments: [
    {
      name: 'homepage',
      salt: '2026-12',
      arms: [
        { name: 'control', model: 'knn@production', weight: 70 },
        { name: 'treatment', model: 'knn@staging', weight: 20 },
        { name: 'baseline', model: 'popular', weight: 10 },
      ],
    },
  ],
};

function invalid(document: unknown): string {
  try {
    parseExperiments(document, 'x.json');
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.message;
  }
  assert.fail('expected a ConfigError');
}

function withArm(patch: Record<string, unknown>): unknown {
  const copy = structuredClone(VALID);
  Object.assign(copy.experiments[0]!.arms[0]!, patch);
  return copy;
}

describe('the experiments file', () => {
  it('accepts the documented example, with cumulative weights', () => {
    const [e] = parseExperiments(VALID);
    assert.deepEqual(e?.cumulative, [70, 90, 100]);
    assert.equal(e?.totalWeight, 100);
  });

  const cases: [string, unknown, RegExp][] = [
    ['a fractional weight', withArm({ weight: 1.5 }), /experiments\.0\.arms\.0\.weight: must be a positive integer/],
    ['a zero weight', withArm({ weight: 0 }), /experiments\.0\.arms\.0\.weight: must be a positive integer/],
    ['a weight as a string', withArm({ weight: '70' }), /experiments\.0\.arms\.0\.weight/],
    ['an arm name with an @', withArm({ name: 'a@b' }), /experiments\.0\.arms\.0\.name/],
    ['a model that is not a reference', withArm({ model: 'knn/../x' }), /experiments\.0\.arms\.0\.model: must be a model reference/],
    ['an unknown field', withArm({ wieght: 3 }), /experiments\.0\.arms\.0: Unrecognized key/],
    [
      'duplicate arm names',
      withArm({ name: 'treatment' }),
      /experiments\.0\.arms\.1\.name: arm name treatment is already used in experiment homepage/,
    ],
    ['no arms', { experiments: [{ name: 'x', salt: 's', arms: [] }] }, /experiments\.0\.arms/],
    ['no salt', { experiments: [{ name: 'x', arms: VALID.experiments[0]!.arms }] }, /experiments\.0\.salt/],
    ['not an object', [1, 2], /\(root\)/],
    [
      'a duplicate experiment',
      { experiments: [VALID.experiments[0], { ...VALID.experiments[0], arms: [{ name: 'other', model: 'knn', weight: 1 }] }] },
      /experiments\.1\.name: duplicate experiment name homepage/,
    ],
  ];
  for (const [what, document, message] of cases) {
    it(`refuses ${what}, naming the field`, () => {
      const text = invalid(document);
      assert.match(text, /^invalid configuration: EXPERIMENTS_FILE \(x\.json\): /);
      assert.match(text, message);
    });
  }

  it('refuses a file that is missing or not JSON', () => {
    const dir = mkdtempSync(join(tmpdir(), 'experiments-'));
    assert.throws(() => readExperimentsFile(join(dir, 'none.json')), /EXPERIMENTS_FILE .*cannot be read/);
    writeFileSync(join(dir, 'bad.json'), '{"experiments": [');
    assert.throws(() => readExperimentsFile(join(dir, 'bad.json')), /EXPERIMENTS_FILE .*is not JSON/);
    writeFileSync(join(dir, 'good.json'), JSON.stringify(VALID));
    assert.equal(readExperimentsFile(join(dir, 'good.json'))[0]?.name, 'homepage');
  });

  it('against the loaded models: refs must resolve, names must not be model names', () => {
    const model = (name: string): Recommender => ({ name, version: 'v1', recommend: () => ({ items: [], coldStart: false, fallback: 0 }) });
    const known = new Map([['knn', model('knn')], ['knn@production', model('knn')], ['popular', model('popular')]]);
    const models: ModelLookup = { get: (ref) => known.get(ref), names: () => ['knn', 'popular'] };
    const experiments = parseExperiments(VALID);
    assert.throws(() => checkExperiments(experiments, models, 'x.json'), (error: Error) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /experiments\.0\.arms\.1\.model: knn@staging does not resolve to a loaded model/);
      assert.doesNotMatch(error.message, /arms\.0\.model|arms\.2\.model/);
      return true;
    });
    known.set('knn@staging', model('knn'));
    checkExperiments(experiments, models, 'x.json');
    const shadow = parseExperiments({ experiments: [{ ...VALID.experiments[0], name: 'knn' }] });
    assert.throws(() => checkExperiments(shadow, models), /experiments\.0\.name: knn is a model name/);
  });

  it('lists every arm, for the metric labels', () => {
    assert.deepEqual(new Experiments(parseExperiments(VALID)).armNames(), ['control', 'treatment', 'baseline']);
  });
});

describe('recent recommendations (the arm of a feedback line)', () => {
  it('keeps the newest entries up to its bound, evicting the oldest', () => {
    const recent = new RecentRecommendations(3);
    for (const id of ['a', 'b', 'c', 'd']) recent.remember(id, { experiment: 'homepage', arm: `arm-${id}` });
    assert.equal(recent.size, 3);
    assert.equal(recent.get('a'), undefined);
    assert.equal(recent.get('d')?.arm, 'arm-d');
    assert.equal(recent.get('b')?.arm, 'arm-b', 'a lookup keeps the entry');
    assert.equal(recent.get('b')?.arm, 'arm-b');
  });
});
