import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DatasetFormatError, loadInteractionsCsv } from '../../src/data/csv';
import { generateInteractions, writeSyntheticCsv } from '../../src/data/synthetic';
import { fingerprintInteractions } from '../../src/data/fingerprint';

const dir = mkdtempSync(join(tmpdir(), 'recoscope-csv-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let fileNo = 0;
function csv(text: string): string {
  const path = join(dir, `f${fileNo++}.csv`);
  writeFileSync(path, text);
  return path;
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  assert.fail('expected the load to fail');
}

describe('CSV loading', () => {
  it('reads MovieLens: weight = rating, Unix-second timestamps, ids mapped densely by id order', async () => {
    const path = csv('userId,movieId,rating,timestamp\n7,30,4.5,964982703\n3,30,1.0,964981247\n7,10,3,964982224\n');
    const r = await loadInteractionsCsv(path);
    assert.equal(r.schema, 'movielens');
    assert.equal(r.rows, 3);
    const d = r.interactions;
    assert.deepEqual([...d.users.ids], [3, 7]);
    assert.deepEqual([...d.items.ids], [10, 30]);
    assert.deepEqual([...d.userPtr], [0, 1, 3]);
    // user 7's row sorted by item: 10 then 30
    assert.deepEqual([...d.itemIdx], [1, 0, 1]);
    assert.deepEqual([...d.weights], [1, 3, 4.5]);
    assert.deepEqual([...d.timestamps], [964981247, 964982224, 964982703]);
  });

  it('reads Kion: dates to UTC midnight, weight 1 + watched_pct/100, empty watched_pct = 1', async () => {
    const path = csv(
      'user_id,item_id,last_watch_dt,total_dur,watched_pct\n' +
        '1,100,2021-08-22,4250,72\n' +
        '1,200,2021-03-01,10,\n' +
        '2,100,2021-08-21,6000,100.0\n',
    );
    const r = await loadInteractionsCsv(path);
    assert.equal(r.schema, 'kion');
    const d = r.interactions;
    assert.equal(d.nnz, 3);
    assert.equal(d.timestamps[0], Date.UTC(2021, 7, 22) / 1000);
    assert.equal(d.timestamps[1], Date.UTC(2021, 2, 1) / 1000);
    assert.ok(Math.abs((d.weights[0] as number) - 1.72) < 1e-6);
    assert.equal(d.weights[1], 1);
    assert.equal(d.weights[2], 2);
  });

  it('accepts the columns in another order, CRLF line ends and a BOM', async () => {
    const path = csv('\ufeffmovieId,userId,timestamp,rating\r\n5,1,100,2.5\r\n');
    const r = await loadInteractionsCsv(path);
    assert.deepEqual([...r.interactions.users.ids], [1]);
    assert.deepEqual([...r.interactions.items.ids], [5]);
    assert.equal(r.interactions.weights[0], 2.5);
  });

  it('merges duplicate (user, item) rows keeping the max weight and latest time', async () => {
    const path = csv('userId,movieId,rating,timestamp\n1,5,2,100\n1,5,4,50\n1,5,3,300\n1,6,1,1\n');
    const r = await loadInteractionsCsv(path);
    assert.equal(r.duplicatesMerged, 2);
    assert.equal(r.interactions.nnz, 2);
    assert.equal(r.interactions.weights[0], 4);
    assert.equal(r.interactions.timestamps[0], 300);
  });

  it('rejects an unknown header, listing both expected headers', async () => {
    const path = csv('user,item,score\n1,2,3\n');
    const err = await rejection(loadInteractionsCsv(path));
    assert.ok(err instanceof DatasetFormatError);
    assert.match(err.message, new RegExp(`${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:1: unrecognised CSV header "user,item,score"`));
    assert.match(err.message, /userId,movieId,rating,timestamp/);
    assert.match(err.message, /user_id,item_id,last_watch_dt,total_dur,watched_pct/);
  });

  it('rejects an empty file', async () => {
    const err = await rejection(loadInteractionsCsv(csv('')));
    assert.match(err.message, /empty/);
  });

  it('names the file and 1-based line of a malformed row, and what is wrong', async () => {
    const cases: [string, RegExp][] = [
      ['1,2,3.5\n', /:3: expected 4 fields \(userId,movieId,rating,timestamp\), got 3/],
      ['x,2,3.5,100\n', /:3: userId "x" is not an integer in \[0, 2147483647\]/],
      ['-1,2,3.5,100\n', /:3: userId "-1" is not an integer/],
      ['2147483648,2,3.5,100\n', /:3: userId "2147483648" is not an integer/],
      ['1,2.5,3.5,100\n', /:3: movieId "2.5" is not an integer/],
      ['1,2,,100\n', /:3: rating "" is not a positive number/],
      ['1,2,0,100\n', /:3: rating "0" is not a positive number/],
      ['1,2,4,soon\n', /:3: timestamp "soon" is not a Unix time/],
    ];
    for (const [bad, expected] of cases) {
      const path = csv(`userId,movieId,rating,timestamp\n1,1,4,100\n${bad}1,3,4,100\n`);
      const err = await rejection(loadInteractionsCsv(path));
      assert.ok(err instanceof DatasetFormatError, bad);
      assert.ok(err.message.startsWith(`${path}:3: `), `${err.message} should start with ${path}:3:`);
      assert.match(err.message, expected);
    }
  });

  it('validates Kion fields', async () => {
    const cases: [string, RegExp][] = [
      ['1,2,2021-02-30,10,5\n', /last_watch_dt "2021-02-30" is not a YYYY-MM-DD date/],
      ['1,2,21-08-01,10,5\n', /last_watch_dt "21-08-01"/],
      ['1,2,2021-08-01,,5\n', /total_dur "" is not a non-negative number/],
      ['1,2,2021-08-01,10,101\n', /watched_pct "101" is not a number in \[0, 100\]/],
    ];
    for (const [bad, expected] of cases) {
      const path = csv(`user_id,item_id,last_watch_dt,total_dur,watched_pct\n${bad}`);
      const err = await rejection(loadInteractionsCsv(path));
      assert.ok(err.message.startsWith(`${path}:2: `), err.message);
      assert.match(err.message, expected);
    }
  });

  it('counts lines csv-parse skips (empty lines) when naming a bad row', async () => {
    const path = csv('userId,movieId,rating,timestamp\n1,1,4,100\n\n\n1,x,4,100\n');
    const err = await rejection(loadInteractionsCsv(path));
    assert.ok(err.message.startsWith(`${path}:5: `), err.message);
  });

  it('reports CSV syntax errors with file and line', async () => {
    const path = csv('userId,movieId,rating,timestamp\n1,1,4,100\n1,"2,4,100\n');
    const err = await rejection(loadInteractionsCsv(path));
    assert.ok(err instanceof DatasetFormatError);
    assert.ok(err.message.startsWith(`${path}:`), err.message);
    assert.match(err.message, /quote/i);
  });

  it('with skipMalformed, skips bad rows and counts them', async () => {
    const path = csv('userId,movieId,rating,timestamp\n1,1,4,100\nbad,1,4,100\n1,2,4\n1,3,4,100\n2,1,,100\n');
    const r = await loadInteractionsCsv(path, { skipMalformed: true });
    assert.equal(r.rows, 5);
    assert.equal(r.skipped, 3);
    assert.equal(r.interactions.nnz, 2);
    assert.equal(r.skippedSamples.length, 3);
    assert.ok(r.skippedSamples[0]?.startsWith(`${path}:3: userId "bad"`));
    assert.ok(r.skippedSamples[1]?.startsWith(`${path}:4: expected 4 fields`));
  });

  it('fails clearly when the file does not exist', async () => {
    const err = await rejection(loadInteractionsCsv(join(dir, 'missing.csv')));
    assert.match(err.message, /missing\.csv: cannot read dataset/);
  });

  it('streams a large generated file: same data as generating in memory; bad line found deep in the file', async () => {
    const params = { users: 30_000, items: 3_000, interactions: 300_000, seed: 7 };
    const path = join(dir, 'large.csv');
    const written = await writeSyntheticCsv(params, path);
    assert.equal(written.rows, 300_000);
    assert.ok(written.bytes > 5_000_000, 'several MB, so many stream chunks');
    const fromCsv = await loadInteractionsCsv(path);
    assert.equal(fromCsv.rows, 300_000);
    assert.equal(fingerprintInteractions(fromCsv.interactions), fingerprintInteractions(generateInteractions(params)));

    // Append a malformed row at a known line far past the first read chunks.
    writeFileSync(path, 'oops,1,2021-08-01,10,5\n', { flag: 'a' });
    const err = await rejection(loadInteractionsCsv(path));
    assert.ok(err.message.startsWith(`${path}:300002: user_id "oops"`), err.message);
  });
});
