/**
 * Every start-up failure of the real service is one line on stderr (whatever the log
 * settings) and an exit code of its own (EXIT_CODES in src/contracts.ts), and the listen
 * port is bound before the dataset is read, so a port in use fails before any training.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EXIT_CODES } from '../../src/contracts';
import { PROJECT_ROOT, SERVICE_MAIN_JS } from '../../src/paths';

const KEY = 'startup-failure-key-0123456789';
const dir = mkdtempSync(join(tmpdir(), 'recoscope-startup-'));

function run(env: Record<string, string>): { status: number | null; stderr: string; stdout: string } {
  const result = spawnSync(process.execPath, [SERVICE_MAIN_JS], {
    cwd: PROJECT_ROOT,
    env: {
      PATH: process.env.PATH,
      HOST: '127.0.0.1',
      PORT: '0',
      API_KEY: KEY,
      LOG_DIR: dir,
      ARTIFACTS_DIR: join(dir, 'no-artifacts'),
      SYNTHETIC_USERS: '200',
      SYNTHETIC_ITEMS: '50',
      SYNTHETIC_INTERACTIONS: '2000',
      ...env,
    },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: result.status, stderr: result.stderr, stdout: result.stdout };
}

/** Exactly one line on stderr, starting with the service's name. */
function oneLine(stderr: string): string {
  const lines = stderr.split('\n').filter((line) => line.length > 0);
  assert.equal(lines.length, 1, `one line on stderr, got:\n${stderr}`);
  assert.match(lines[0]!, /^recoscope: /);
  return lines[0]!;
}

describe('start-up failures: one stderr line, one exit code each', () => {
  let occupied: Server;
  let port: number;
  before(async () => {
    occupied = createServer();
    await new Promise<void>((resolveListen) => occupied.listen(0, '127.0.0.1', () => resolveListen()));
    port = (occupied.address() as { port: number }).port;
  });
  after(async () => {
    await new Promise<void>((resolveClose) => occupied.close(() => resolveClose()));
  });

  it('the exit codes are distinct', () => {
    const codes = Object.values(EXIT_CODES);
    assert.equal(new Set(codes).size, codes.length);
    assert.deepEqual(
      { config: EXIT_CODES.config, logDir: EXIT_CODES.logDir, listen: EXIT_CODES.listen, dataset: EXIT_CODES.dataset },
      { config: 2, logDir: 3, listen: 4, dataset: 5 },
    );
  });

  const configCases: [string, Record<string, string>, RegExp][] = [
    ['a blank port', { PORT: ' ' }, /PORT: must be a plain decimal integer/],
    ['a hex port', { PORT: '0x1F90' }, /PORT: must be a plain decimal integer/],
    ['an exponent', { K_RECS: '1e1' }, /K_RECS: must be a plain decimal integer/],
    ['a key with a blank', { API_KEY: 'a key with blanks in it' }, /API_KEY: must be printable ASCII without whitespace/],
    ['a short key', { API_KEY: 'short-key' }, /API_KEY: must be at least 16 characters/],
  ];
  for (const [name, env, message] of configCases) {
    it(`config: ${name} → exit ${EXIT_CODES.config}`, () => {
      const result = run({ ...env, LOG_STDOUT: 'false' });
      assert.equal(result.status, EXIT_CODES.config);
      const line = oneLine(result.stderr);
      assert.match(line, /^recoscope: invalid configuration: /);
      assert.match(line, message);
      if (env.API_KEY !== undefined) assert.ok(!line.includes(env.API_KEY), 'the key is not echoed');
    });
  }

  // The experiments file is configuration: a bad field before anything starts, a reference to no
  // loaded model or a name that shadows a model once the models are ready, each exit `config`.
  const experiments = (arm: Record<string, unknown>, name = 'homepage') =>
    JSON.stringify({ experiments: [{ name, salt: 's', arms: [{ name: 'control', model: 'knn', weight: 50 }, { name: 'treatment', weight: 50, ...arm }] }] });
  const experimentCases: [string, string, RegExp][] = [
    ['a fractional weight', experiments({ model: 'popular', weight: 0.5 }), /EXPERIMENTS_FILE \(.*\): experiments\.0\.arms\.1\.weight: must be a positive integer/],
    ['a reference to no loaded model', experiments({ model: 'svd' }), /EXPERIMENTS_FILE \(.*\): experiments\.0\.arms\.1\.model: svd does not resolve to a loaded model/],
    ['an experiment named like a model', experiments({ model: 'popular' }, 'knn'), /experiments\.0\.name: knn is a model name/],
    ['a file that is not JSON', '{"experiments": [', /EXPERIMENTS_FILE \(.*\): is not JSON/],
  ];
  experimentCases.forEach(([name, text, message], i) => {
    it(`config: EXPERIMENTS_FILE with ${name} → exit ${EXIT_CODES.config}`, () => {
      const file = join(dir, `experiments-${i}.json`);
      writeFileSync(file, text);
      const result = run({ EXPERIMENTS_FILE: file, LOG_STDOUT: 'false' });
      assert.equal(result.status, EXIT_CODES.config);
      const line = oneLine(result.stderr);
      assert.match(line, /^recoscope: invalid configuration: EXPERIMENTS_FILE/);
      assert.match(line, message);
    });
  });

  for (const stdout of ['true', 'false']) {
    it(`listen: a port in use → exit ${EXIT_CODES.listen} before the dataset is read (LOG_STDOUT=${stdout})`, () => {
      // A dataset that takes seconds to generate and train: the failure must come before it.
      const result = run({ PORT: String(port), LOG_STDOUT: stdout, SYNTHETIC_USERS: '200000', SYNTHETIC_ITEMS: '20000', SYNTHETIC_INTERACTIONS: '5000000' });
      assert.equal(result.status, EXIT_CODES.listen);
      assert.equal(oneLine(result.stderr), `recoscope: cannot listen on 127.0.0.1:${port}: address already in use (EADDRINUSE)`);
      assert.ok(!result.stdout.includes('dataset-loaded'), 'no dataset was loaded');
      if (stdout === 'true') assert.match(result.stdout, /"startup-failed"/, 'the log stream says so too');
      else assert.equal(result.stdout, '');
    });
  }

  it(`listen: an address this machine does not have → exit ${EXIT_CODES.listen}`, () => {
    const result = run({ HOST: '192.0.2.1', LOG_STDOUT: 'false' });
    assert.equal(result.status, EXIT_CODES.listen);
    assert.match(oneLine(result.stderr), /^recoscope: cannot listen on 192\.0\.2\.1:0: address not available on this machine \(EADDRNOTAVAIL\)$/);
  });

  it(`dataset: a missing file → exit ${EXIT_CODES.dataset}`, () => {
    const result = run({ DATASET: join(dir, 'missing.csv'), LOG_STDOUT: 'false' });
    assert.equal(result.status, EXIT_CODES.dataset);
    assert.match(oneLine(result.stderr), /^recoscope: cannot prepare the models: .*missing\.csv: cannot read dataset/);
  });

  it(`dataset: a file that is not interactions → exit ${EXIT_CODES.dataset}`, () => {
    const file = join(dir, 'garbage.csv');
    writeFileSync(file, 'this,is,not\na,dataset,at all\n"unterminated\n');
    const result = run({ DATASET: file });
    assert.equal(result.status, EXIT_CODES.dataset);
    assert.match(oneLine(result.stderr), /^recoscope: cannot prepare the models: .*garbage\.csv:1: unrecognised CSV header/);
  });
});
