/** Frame normalisation, folded stacks, the differential tree and run resolution, without processes. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createUserSampler, COLD_USER_MIN } from '../../loadtest/users';
import { diffTree, resolveRuns, topRows } from '../../profiles/compare';
import {
  busyFrames,
  foldedToTree,
  formatFolded,
  frameShares,
  idleShare,
  normaliseFrame,
  parseFolded,
  treeToFolded,
  type ZeroXNode,
} from '../../profiles/folded';

const ROOT = '/work/main';

describe('normaliseFrame', () => {
  const cases: Array<[string, string]> = [
    ['scoreStage /work/main/dist/src/models/knn.js:86:18', 'scoreStage src/models/knn.ts'],
    ['*scoreStage /work/main/dist/src/models/knn.js:86:18', 'scoreStage src/models/knn.ts'],
    ['~scoreStage /work/main/dist/src/models/knn.js:90:3 [INIT]', 'scoreStage src/models/knn.ts'],
    ['(anonymous) /work/main/dist/src/http/reco-route.js:20:12', '(anonymous) src/http/reco-route.ts'],
    [' /work/main/dist/src/main.js:1:1', '(anonymous) src/main.ts'],
    ['next /work/main/node_modules/router/index.js:189:17', 'next node_modules/router/index.js'],
    ['next /elsewhere/app/node_modules/router/index.js:189:17', 'next node_modules/router/index.js'],
    ['handleWriteReq node:internal/stream_base_commons:46:24', 'handleWriteReq node:internal/stream_base_commons'],
    ['emit node:events:517:28 [INIT]', 'emit node:events'],
    ['(anonymous) file:///work/main/dist/src/x.js:3:4', '(anonymous) src/x.ts'],
    ['run /opt/other/tool.js:3:4', 'run tool.js'],
    ['__write@@GLIBC_2.2.5 [CPP]', '__write [native]'],
    ['epoll_pwait@@GLIBC_2.6 [CPP]', 'epoll_pwait [native]'],
    ['/usr/lib/x86_64-linux-gnu/libc.so.6 [SHARED_LIB]', 'libc.so.6 [native]'],
    ['v8::internal::Heap::Scavenge() [CPP]', 'v8::internal::Heap::Scavenge() [native]'],
    ['ArrayPrototypePush [CODE:Builtin]', 'ArrayPrototypePush [builtin]'],
    ['LdaZero [CODE:BytecodeHandler]', 'LdaZero [bytecode]'],
    ['Bearer +(\\S+) *$ [CODE:RegExp]', '/Bearer +(\\S+) *$/ [regexp]'],
    ['a;b [CODE:RegExp]', '/a,b/ [regexp]'],
  ];
  for (const [raw, expected] of cases) {
    it(`${raw} → ${expected}`, () => assert.equal(normaliseFrame(raw, ROOT), expected));
  }
});

describe('folded stacks', () => {
  const tree: ZeroXNode = {
    name: 'all stacks',
    value: 10,
    top: 0,
    children: [
      {
        name: 'main /work/main/dist/src/main.js:1:1',
        value: 7,
        top: 1,
        children: [
          { name: '*work /work/main/dist/src/w.js:3:3', value: 4, top: 4 },
          { name: '~work /work/main/dist/src/w.js:3:3 [INIT]', value: 2, top: 2 },
        ],
      },
      { name: 'epoll_pwait@@GLIBC_2.6 [CPP]', value: 3, top: 3 },
    ],
  };

  it('merges frames that differ only by markers and labels, root first', () => {
    const folded = treeToFolded(tree, ROOT);
    assert.deepEqual([...folded].sort(), [
      ['epoll_pwait [native]', 3],
      ['main src/main.ts', 1],
      ['main src/main.ts;work src/w.ts', 6],
    ]);
    assert.equal(formatFolded(folded), 'main src/main.ts;work src/w.ts 6\nepoll_pwait [native] 3\nmain src/main.ts 1\n');
    assert.deepEqual(parseFolded(formatFolded(folded)), folded);
  });

  it('self and total shares; idle left out of the ranking', () => {
    const shares = frameShares(treeToFolded(tree, ROOT));
    assert.deepEqual(
      shares.map((f) => [f.frame, f.self, f.total]),
      [
        ['work src/w.ts', 6, 6],
        ['epoll_pwait [native]', 3, 3],
        ['main src/main.ts', 1, 7],
      ],
    );
    assert.equal(idleShare(shares), 0.3);
    assert.deepEqual(
      busyFrames(shares).map((f) => f.frame),
      ['work src/w.ts', 'main src/main.ts'],
    );
  });

  it('frame names with spaces keep their count', () => {
    const folded = parseFolded('a x;/b c/ [regexp] 5\n');
    assert.equal(folded.get('a x;/b c/ [regexp]'), 5);
    assert.throws(() => parseFolded('no-count-here\n'));
  });

  it('foldedToTree sums children into parents', () => {
    const t = foldedToTree(parseFolded('a;b 2\na;c 3\na 1\nd 4\n'));
    assert.equal(t.value, 10);
    assert.deepEqual(
      t.children.map((c) => [c.name, c.value]),
      [
        ['a', 6],
        ['d', 4],
      ],
    );
  });
});

describe('differential tree', () => {
  it('deltas in B samples, A rescaled to B total; new frames have delta = value', () => {
    // A: 100 samples, B: 200 samples.
    const a = parseFolded('root;x 50\nroot;y 50\n');
    const b = parseFolded('root;x 150\nroot;z 50\n');
    const d = diffTree(a, b);
    assert.equal(d.value, 200);
    assert.equal(d.delta, 0);
    const root = d.children[0];
    assert.equal(root?.delta, 0, 'root: 100% in both');
    const x = root?.children.find((c) => c.name === 'x');
    const z = root?.children.find((c) => c.name === 'z');
    assert.equal(x?.delta, 150 - 50 * 2, 'x grew from 50% to 75%: +50 of 200');
    assert.equal(x?.shareA, 0.5);
    assert.equal(z?.delta, 50, 'z is new');
    assert.equal(z?.value, 50);
  });

  it('topRows: union of both tops, sorted by absolute change', () => {
    const a = frameShares(parseFolded('s;f 60\ns;g 30\ns;h 10\n'));
    const b = frameShares(parseFolded('s;f 20\ns;g 30\ns;k 50\n'));
    const rows = topRows(a, b, 2);
    assert.deepEqual(
      rows.map((r) => [r.frame, Math.round(r.delta * 100)]),
      [
        ['k', 50],
        ['f', -40],
        ['g', 0],
      ],
    );
  });
});

describe('resolveRuns', () => {
  const dir = mkdtempSync(join(tmpdir(), 'recoscope-runs-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const run = (scenario: string, name: string): string => {
    const d = join(dir, scenario, name);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'stacks.folded'), 'a 1\n');
    return d;
  };
  const k1 = run('knn', '20260101T000000Z-aaaaaaa');
  const k2 = run('knn', '20260102T000000Z-bbbbbbb');
  const p1 = run('popular', '20260101T000000Z-aaaaaaa');
  symlinkSync('20260102T000000Z-bbbbbbb', join(dir, 'knn', 'latest'));

  it('two scenario names: their latest runs', () => assert.deepEqual(resolveRuns(['knn', 'popular'], dir), [k2, p1]));
  it('one scenario name: its two latest runs, older first', () => assert.deepEqual(resolveRuns(['knn'], dir), [k1, k2]));
  it('run folders as given', () => assert.deepEqual(resolveRuns([p1, k1], dir), [p1, k1]));
  it('a scenario with one run cannot be compared with itself', () => assert.throws(() => resolveRuns(['popular'], dir), /need two profiles of 'popular'/));
  it('an unknown scenario', () => assert.throws(() => resolveRuns(['knn', 'nope'], dir), /no profile of 'nope'/));
});

describe('user sampler', () => {
  it('is deterministic for a seed, skewed towards a few users, with the asked cold share', () => {
    const draw = (seed: number): number[] => {
      const s = createUserSampler({ knownUsers: 1000, coldShare: 0.1, zipfExponent: 1, seed });
      return Array.from({ length: 20_000 }, () => s.next().id);
    };
    const a = draw(42);
    assert.deepEqual(a, draw(42));
    assert.notDeepEqual(a, draw(43));
    const cold = a.filter((id) => id >= COLD_USER_MIN).length / a.length;
    assert.ok(Math.abs(cold - 0.1) < 0.01, `cold share ${cold}`);
    const counts = new Map<number, number>();
    for (const id of a) if (id < COLD_USER_MIN) counts.set(id, (counts.get(id) ?? 0) + 1);
    const sorted = [...counts.values()].sort((x, y) => y - x);
    assert.ok((sorted[0] as number) > 10 * (sorted[100] as number), 'the hottest user is far hotter than the 100th');
    assert.ok(a.every((id) => (id >= 0 && id < 1000) || (id >= COLD_USER_MIN && id < 1_000_000_000)));
  });
});
