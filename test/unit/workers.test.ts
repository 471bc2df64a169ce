import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { restartDelayMs, workerConfig, workerLogFile } from '../../src/cluster/supervisor';
import { ConfigError, loadConfig } from '../../src/config';

describe('WORKERS', () => {
  it('is 1 by default, a plain integer from 1 to 256, or auto', () => {
    assert.deepEqual(loadConfig({}).workers, { count: 1, slot: undefined });
    assert.equal(loadConfig({ WORKERS: '4' }).workers.count, 4);
    assert.equal(loadConfig({ WORKERS: 'auto' }).workers.count, 'auto');
    for (const bad of ['0', '257', '2.5', '0x2', ' 2', 'two', '-1']) {
      assert.throws(() => loadConfig({ WORKERS: bad }), (e: unknown) => e instanceof ConfigError && /WORKERS/.test(e.message), bad);
    }
  });

  it("gives each worker slot its own log file beside the supervisor's", () => {
    assert.equal(workerLogFile('recoscope.ndjson', 2), 'recoscope-w2.ndjson');
    assert.equal(workerLogFile('service.log.ndjson', 1), 'service.log-w1.ndjson');
    assert.equal(workerLogFile('plain', 3), 'plain-w3');
    const config = loadConfig({ WORKER_SLOT: '2', LOG_FILE: 'x.ndjson' });
    assert.equal(workerConfig(config).log.file, 'x-w2.ndjson');
    assert.equal(workerConfig(loadConfig({ LOG_FILE: 'x.ndjson' })).log.file, 'x.ndjson', 'no slot: unchanged');
  });

  it('backs off restarts: 250 ms doubling per quick crash, at most 30 s', () => {
    assert.deepEqual([1, 2, 3, 4].map(restartDelayMs), [250, 500, 1000, 2000]);
    assert.equal(restartDelayMs(20), 30_000);
  });
});
