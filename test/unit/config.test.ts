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

describe('loadConfig: OpenTelemetry settings (same schema, same errors)', () => {
  it('tracing is off without an endpoint, on with one; the traces URL follows the OTLP spec', () => {
    assert.equal(loadConfig({}).tracing.enabled, false);
    const on = loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).tracing;
    assert.equal(on.enabled, true);
    assert.equal(on.tracesUrl, 'http://collector:4318/v1/traces');
    assert.equal(on.sampler, 'parentbased_always_on');
    assert.equal(on.samplerRatio, 1);
    const signal = loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:1', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://b/custom' }).tracing;
    assert.equal(signal.tracesUrl, 'https://b/custom', 'the signal-specific URL is used as given');
    assert.equal(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:1', OTEL_SDK_DISABLED: 'true' }).tracing.enabled, false);
    assert.equal(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:1', OTEL_TRACES_EXPORTER: 'none' }).tracing.enabled, false);
    const sampled = loadConfig({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1', OTEL_LOG_LEVEL: 'DEBUG' }).tracing;
    assert.equal(sampled.samplerRatio, 0.1);
    assert.equal(sampled.diagLogLevel, 'debug');
  });

  it('a bad sampler, sampler argument, endpoint URL or protocol is a ConfigError naming the variable', () => {
    const cases: Record<string, string>[] = [
      { OTEL_TRACES_SAMPLER: 'sometimes' },
      { OTEL_TRACES_SAMPLER_ARG: '1.5' },
      { OTEL_TRACES_SAMPLER_ARG: 'ten percent' },
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' },
      { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'ftp://collector/v1/traces' },
      { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' },
      { OTEL_BSP_SCHEDULE_DELAY: '-1' },
      { OTEL_SDK_DISABLED: 'perhaps' },
    ];
    for (const env of cases) {
      const [name] = Object.keys(env) as [string];
      assert.throws(
        () => loadConfig(env),
        (error: unknown) => error instanceof ConfigError && error.message.includes(name),
        `${name}=${env[name]} must be refused`,
      );
    }
  });
});
