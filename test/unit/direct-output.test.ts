/**
 * The direct log output's pure parts: the document it builds from a log line (dotted keys
 * expanded, as Filebeat's expand_keys does) and its settings (off unless the URL is set,
 * strict values). Its shipping, bound and counters run against a real Elasticsearch in the
 * fault matrix (test/faults/).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config';
import { expandDottedKeys } from '../../src/observability/log-writer/elasticsearch';

describe('direct output: documents', () => {
  it('expands dotted keys into objects and merges them with nested ones', () => {
    const line = '{"@timestamp":"2026-01-01T00:00:00.000Z","log.level":"info","event":{"id":"e1","dataset":"recoscope.app"},"ecs.version":"8.10.0","service":{"name":"recoscope"},"service.version":"0.1.0"}';
    assert.deepEqual(expandDottedKeys(JSON.parse(line)), {
      '@timestamp': '2026-01-01T00:00:00.000Z',
      log: { level: 'info' },
      event: { id: 'e1', dataset: 'recoscope.app' },
      ecs: { version: '8.10.0' },
      service: { name: 'recoscope', version: '0.1.0' },
    });
  });

  it('leaves arrays, nulls and scalars alone, and expands inside arrays of objects', () => {
    assert.deepEqual(expandDottedKeys({ 'a.b': [1, { 'c.d': null }], e: 'x.y' }), { a: { b: [1, { c: { d: null } }] }, e: 'x.y' });
  });
});

describe('direct output: settings', () => {
  const base = { API_KEY: 'k'.repeat(32) };

  it('is off by default', () => {
    assert.equal(loadConfig(base).logElasticsearch, undefined);
  });

  it('reads the URL, index, buffer and flush interval', () => {
    const c = loadConfig({
      ...base,
      LOG_ELASTICSEARCH_URL: 'http://127.0.0.1:9200',
      LOG_ELASTICSEARCH_INDEX: 'reco-logs-direct',
      LOG_ELASTICSEARCH_BUFFER_DOCS: '500',
      LOG_ELASTICSEARCH_FLUSH_MS: '250',
    });
    assert.deepEqual(c.logElasticsearch, { url: 'http://127.0.0.1:9200', index: 'reco-logs-direct', maxDocs: 500, flushMs: 250 });
    assert.deepEqual(loadConfig({ ...base, LOG_ELASTICSEARCH_URL: 'https://es.example:9243' }).logElasticsearch, {
      url: 'https://es.example:9243',
      index: 'reco-logs',
      maxDocs: 20_000,
      flushMs: 1_000,
    });
  });

  for (const [name, value] of [
    ['LOG_ELASTICSEARCH_URL', 'es:9200'],
    ['LOG_ELASTICSEARCH_INDEX', 'Reco-Logs'],
    ['LOG_ELASTICSEARCH_BUFFER_DOCS', '1e4'],
    ['LOG_ELASTICSEARCH_BUFFER_DOCS', '0'],
    ['LOG_ELASTICSEARCH_FLUSH_MS', ' 100'],
  ] as const) {
    it(`rejects ${name}=${JSON.stringify(value)}`, () => {
      assert.throws(() => loadConfig({ ...base, LOG_ELASTICSEARCH_URL: 'http://127.0.0.1:9200', [name]: value }), (e: unknown) => e instanceof ConfigError && e.message.includes(name));
    });
  }
});
