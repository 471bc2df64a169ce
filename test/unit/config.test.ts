import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig, MIN_API_KEY_LENGTH } from '../../src/config';

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

describe('loadConfig: strict values', () => {
  const rejects = (env: Record<string, string>, variable: string, message?: RegExp): void => {
    assert.throws(
      () => loadConfig(env),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError, String(error));
        assert.match(error.message, new RegExp(`${variable}:`));
        if (message !== undefined) assert.match(error.message, message);
        return true;
      },
      `${variable}=${JSON.stringify(Object.values(env)[0])} must be refused`,
    );
  };

  it('integers are plain decimal: no blank, sign, hex, exponent, fraction or non-ASCII digit', () => {
    for (const value of [' ', '  ', ' 80', '80 ', '0x1F90', '0o17', '0b1', '8e3', '1e1', '+80', '-1', '80.0', '８０', 'Infinity', '1_000']) {
      rejects({ PORT: value }, 'PORT', /plain decimal integer/);
    }
    for (const variable of ['K_RECS', 'SYNTHETIC_USERS', 'SHUTDOWN_TIMEOUT_MS', 'AUTH_FAILURE_LIMIT']) rejects({ [variable]: '1e2' }, variable);
  });

  it('plain decimals still parse, leading zeros included', () => {
    assert.equal(loadConfig({ PORT: '0' }).port, 0);
    assert.equal(loadConfig({ PORT: '08080' }).port, 8080);
    assert.equal(loadConfig({ K_RECS: '1000' }).kRecs, 1000);
  });

  it('non-integer numbers are plain decimals too', () => {
    assert.equal(loadConfig({ KNN_BM25_K1: '1.5' }).models.bm25K1, 1.5);
    assert.equal(loadConfig({ LOG_MAX_SIZE_MB: '0.5' }).log.maxSizeBytes, 512 * 1024);
    for (const value of ['1e0', '.5', '5.', ' 1', '0x1']) rejects({ KNN_BM25_K1: value }, 'KNN_BM25_K1');
    rejects({ KNN_BM25_B: '1.5' }, 'KNN_BM25_B');
  });

  it('the API key: printable ASCII, no whitespace, at least MIN_API_KEY_LENGTH characters, never echoed', () => {
    assert.equal(MIN_API_KEY_LENGTH, 16);
    assert.equal(loadConfig({ API_KEY: 'k'.repeat(16) }).apiKey, 'k'.repeat(16));
    assert.equal(loadConfig({ API_KEY: 'Abc-_.~+/=!#$%&*0123' }).apiKey, 'Abc-_.~+/=!#$%&*0123');
    const bad = ['k'.repeat(15), 'secret key with spaces', 'trailing-newline-key\n', ' leading-blank-key-1', 'tab\tinside-the-key-1', 'non-ascii-kéy-0123456'];
    for (const key of bad) {
      assert.throws(
        () => loadConfig({ API_KEY: key }),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError);
          assert.match(error.message, /API_KEY:/);
          assert.ok(!error.message.includes(key.trim()), 'the key is not echoed');
          return true;
        },
        JSON.stringify(key),
      );
    }
  });

  it('HTTP settings: defaults are docs on outside production, CORS off, proxies untrusted, throttle 20 per minute', () => {
    const { docsEnabled, corsOrigins, trustProxy, authFailureLimit, authFailureWindowMs } = loadConfig({}).http;
    assert.deepEqual(
      { docsEnabled, corsOrigins, trustProxy, authFailureLimit, authFailureWindowMs },
      { docsEnabled: true, corsOrigins: [], trustProxy: false, authFailureLimit: 20, authFailureWindowMs: 60_000 },
    );
    assert.equal(loadConfig({ NODE_ENV: 'production' }).http.docsEnabled, false);
    assert.equal(loadConfig({ NODE_ENV: 'production', DOCS_ENABLED: 'true' }).http.docsEnabled, true);
    assert.equal(loadConfig({ DOCS_ENABLED: 'false' }).http.docsEnabled, false);
    assert.equal(loadConfig({ AUTH_FAILURE_LIMIT: '0' }).http.authFailureLimit, 0, '0 turns the throttle off');
    rejects({ AUTH_FAILURE_WINDOW_MS: '999' }, 'AUTH_FAILURE_WINDOW_MS');
  });

  it('CORS_ORIGINS is a list of exact origins', () => {
    assert.deepEqual(loadConfig({ CORS_ORIGINS: 'https://a.example.com, http://localhost:3000' }).http.corsOrigins, [
      'https://a.example.com',
      'http://localhost:3000',
    ]);
    for (const value of ['*', 'https://a.example.com/', 'https://a.example.com/path', 'a.example.com', 'ftp://a.example.com', 'https://a.example.com,null']) {
      rejects({ CORS_ORIGINS: value }, 'CORS_ORIGINS');
    }
  });

  it('TRUST_PROXY: false, a hop count or proxy addresses; never true', () => {
    assert.equal(loadConfig({ TRUST_PROXY: 'false' }).http.trustProxy, false);
    assert.equal(loadConfig({ TRUST_PROXY: '1' }).http.trustProxy, 1);
    assert.deepEqual(loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8,::1' }).http.trustProxy, ['loopback', '10.0.0.0/8', '::1']);
    for (const value of ['true', 'yes', '10.0.0.0/33', '999.1.1.1', 'proxy.example.com', '1e1']) rejects({ TRUST_PROXY: value }, 'TRUST_PROXY');
  });
});

describe('loadConfig: model registry settings', () => {
  it('MODEL_REFS pins refs per model; a bad or repeated ref is a ConfigError naming MODEL_REFS', () => {
    assert.deepEqual(loadConfig({}).modelRefs, {});
    assert.deepEqual(loadConfig({ MODEL_REFS: 'knn@staging, popular@20261201T231820123Z-3f9c2a1b' }).modelRefs, {
      knn: 'knn@staging',
      popular: 'popular@20261201T231820123Z-3f9c2a1b',
    });
    for (const bad of ['knn@latest', 'nope@staging', 'knn@staging,knn@canary']) {
      assert.throws(() => loadConfig({ MODEL_REFS: bad }), (e: Error) => e instanceof ConfigError && e.message.startsWith('invalid configuration: MODEL_REFS:'), bad);
    }
  });

  it('ADMIN_API_KEY follows the API key rules and must differ from API_KEY, without echoing either', () => {
    const key = 'admin-key-0123456789abcdef';
    assert.equal(loadConfig({ ADMIN_API_KEY: key }).adminApiKey, key);
    assert.equal(loadConfig({}).adminApiKey, undefined);
    assert.throws(() => loadConfig({ ADMIN_API_KEY: 'short' }), /ADMIN_API_KEY: must be at least 16 characters/);
    assert.throws(
      () => loadConfig({ ADMIN_API_KEY: key, API_KEY: key }),
      (e: Error) => e instanceof ConfigError && /ADMIN_API_KEY: must differ from API_KEY/.test(e.message) && !e.message.includes(key),
    );
  });
});
