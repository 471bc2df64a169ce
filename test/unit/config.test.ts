import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config';

describe('loadConfig', () => {
  it('works with no environment at all (the quick start)', () => {
    const config = loadConfig({});
    assert.equal(config.port, 8080);
    assert.equal(config.kRecs, 10);
    assert.equal(config.apiKey, undefined);
    assert.equal(config.dataset.source, 'synthetic');
    assert.equal(config.log.file, 'recoscope.ndjson');
    assert.equal(config.models.bm25K1, 1.2);
    assert.equal(config.models.bm25B, 0.75);
    assert.equal(config.faultUserDivisor, 0);
  });

  it('reads and converts values', () => {
    const config = loadConfig({ PORT: '9000', K_RECS: '20', LOG_STDOUT: 'false', LOG_MAX_SIZE_MB: '1', KNN_BM25_B: '0.5' });
    assert.equal(config.port, 9000);
    assert.equal(config.kRecs, 20);
    assert.equal(config.log.stdout, false);
    assert.equal(config.log.maxSizeBytes, 1024 * 1024);
    assert.equal(config.models.bm25B, 0.5);
  });

  it('treats empty strings as unset', () => {
    assert.equal(loadConfig({ PORT: '', API_KEY: '' }).port, 8080);
  });

  it('names every bad variable in one error, without echoing values', () => {
    assert.throws(
      () => loadConfig({ PORT: '70000', K_RECS: 'ten', LOG_STDOUT: 'maybe', API_KEY: 'tiny', LOG_FILE: '../escape.log' }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        for (const name of ['PORT', 'K_RECS', 'LOG_STDOUT', 'API_KEY', 'LOG_FILE']) assert.match(error.message, new RegExp(name));
        assert.ok(!error.message.includes('tiny'));
        return true;
      },
    );
  });
});
