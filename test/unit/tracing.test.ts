/**
 * Tracing's switch: with no OTLP endpoint, register.ts must load no SDK module and register
 * no TracerProvider; with one, it must (the sanity counterpart that makes the first test
 * able to fail). Each case runs in a child node process with an exact environment, because
 * loading the SDK into the test runner's own process could not be undone.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { formatDiagArgs, rateLimitedDiagLogger, type DiagSinkLevel } from '../../src/observability/tracing/diag-logger';
import { tracingRequested } from '../../src/observability/tracing/settings';

const execFileAsync = promisify(execFile);

// dist/test/unit → dist/src/observability/tracing
const TRACING_DIR = resolve(__dirname, '..', '..', 'src', 'observability', 'tracing');
const REGISTER_JS = join(TRACING_DIR, 'register.js');
const INDEX_JS = join(TRACING_DIR, 'index.js');

interface Probe {
  sdkModules: string[];
  otelModules: string[];
  globalTraceRegistered: boolean;
  delegate: string;
  enabled: boolean;
  tracedStages: boolean;
  traceIdsOutsideSpan: unknown;
  stageRethrows: boolean;
  shutdownMs: number;
}

/**
 * Runs in the child: requires register.js (optionally twice, the second time from a fresh
 * module cache, as `--require` + import from a second copy would), then reports what loaded.
 */
const PROBE_SOURCE = `
const [registerJs, indexJs, twice] = process.argv.slice(1);
require(registerJs);
if (twice === 'twice') {
  for (const key of Object.keys(require.cache)) if (key.includes('/dist/src/observability/tracing/')) delete require.cache[key];
  require(registerJs);
}
const api = require('@opentelemetry/api');
const facade = require(indexJs);
const provider = api.trace.getTracerProvider();
const delegate = typeof provider.getDelegate === 'function' ? provider.getDelegate() : provider;
const apiKey = Object.getOwnPropertySymbols(globalThis).find((s) => String(s.description).startsWith('opentelemetry.js.api.'));
const globalApi = apiKey === undefined ? undefined : globalThis[apiKey];
let stageRethrows = false;
try { facade.requestStages().run('reco.score', () => { throw new Error('boom'); }); } catch (e) { stageRethrows = e.message === 'boom'; }
const started = Date.now();
facade.shutdownTracing().then(() => {
  const keys = Object.keys(require.cache);
  process.stdout.write('\\nPROBE ' + JSON.stringify({
    sdkModules: keys.filter((k) => k.includes('/@opentelemetry/sdk-node/')),
    otelModules: keys.filter((k) => /\\/@opentelemetry\\/(sdk-|exporter-|instrumentation)/.test(k)),
    globalTraceRegistered: globalApi !== undefined && globalApi.trace !== undefined,
    delegate: delegate.constructor.name,
    enabled: facade.tracingEnabled(),
    tracedStages: facade.requestStages() !== require(process.cwd() + '/dist/src/models/stages.js').untracedStages,
    traceIdsOutsideSpan: facade.activeTraceIds() ?? null,
    stageRethrows,
    shutdownMs: Date.now() - started,
  }) + '\\n');
  process.exit(0);
});
`;

async function probe(env: Record<string, string>, twice = false): Promise<{ result: Probe; stdout: string; stderr: string }> {
  const projectRoot = resolve(__dirname, '..', '..', '..');
  const { stdout, stderr } = await execFileAsync(
    process.execPath,
    ['-e', PROBE_SOURCE, REGISTER_JS, INDEX_JS, twice ? 'twice' : 'once'],
    {
      cwd: projectRoot,
      // Exact environment: nothing OTEL_* leaks in from the machine running the tests.
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      timeout: 30_000,
    },
  );
  // stdout also carries the service's log lines (e.g. an exporter warning); take the probe's.
  const line = stdout.split('\n').find((l) => l.startsWith('PROBE '));
  assert.ok(line !== undefined, `no probe output in:\n${stdout}\n${stderr}`);
  return { result: JSON.parse(line.slice('PROBE '.length)) as Probe, stdout, stderr };
}

// A closed port: the SDK starts, and its exports fail fast.
const CLOSED = 'http://127.0.0.1:9';

describe('tracing switch (register.ts)', () => {
  it('with no OTLP endpoint: no SDK module loaded, no TracerProvider registered, facade is a no-op', async () => {
    const { result } = await probe({});
    assert.deepEqual(result.sdkModules, []);
    assert.deepEqual(result.otelModules, [], 'no SDK, exporter or instrumentation module may load');
    assert.equal(result.globalTraceRegistered, false, 'no global TracerProvider');
    assert.equal(result.delegate, 'NoopTracerProvider');
    assert.equal(result.enabled, false);
    assert.equal(result.tracedStages, false, 'requestStages() must be the untraced no-op');
    assert.equal(result.traceIdsOutsideSpan, null);
    assert.equal(result.stageRethrows, true);
  });

  it('OTEL_SDK_DISABLED=true wins over a configured endpoint', async () => {
    const { result } = await probe({ OTEL_EXPORTER_OTLP_ENDPOINT: CLOSED, OTEL_SDK_DISABLED: 'true' });
    assert.deepEqual(result.sdkModules, []);
    assert.equal(result.globalTraceRegistered, false);
    assert.equal(result.enabled, false);
  });

  // The counterpart: proves the probe can see an SDK, so the tests above can fail.
  for (const variable of ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']) {
    it(`with ${variable}: the SDK is loaded and registered`, async () => {
      const endpoint = variable.endsWith('TRACES_ENDPOINT') ? `${CLOSED}/v1/traces` : CLOSED;
      const { result } = await probe({ [variable]: endpoint, OTEL_EXPORTER_OTLP_TIMEOUT: '500' });
      assert.ok(result.sdkModules.length > 0, 'sdk-node must be in require.cache');
      assert.equal(result.globalTraceRegistered, true);
      assert.equal(result.delegate, 'TracerProvider');
      assert.equal(result.enabled, true);
      assert.equal(result.tracedStages, true);
      assert.equal(result.traceIdsOutsideSpan, null, 'no active span outside a request');
      assert.equal(result.stageRethrows, true, 'a failing stage rethrows its error');
    });
  }

  it('is idempotent: a second load (fresh module cache) does not start a second SDK', async () => {
    const { result, stderr } = await probe({ OTEL_EXPORTER_OTLP_ENDPOINT: CLOSED, OTEL_EXPORTER_OTLP_TIMEOUT: '500' }, true);
    assert.equal(result.globalTraceRegistered, true);
    assert.equal(result.delegate, 'TracerProvider');
    assert.doesNotMatch(stderr, /duplicate registration/i);
  });
});

describe('tracingRequested', () => {
  it('follows the OTLP endpoint variables and the kill switches', () => {
    assert.equal(tracingRequested({}), false);
    assert.equal(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: ' ' }), false);
    assert.equal(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }), true);
    assert.equal(tracingRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/v1/traces' }), true);
    assert.equal(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'TRUE' }), false);
    assert.equal(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'false' }), true);
    assert.equal(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' }), false);
  });

  it('an invalid OTEL_* setting never starts tracing here (main.ts stops with the config error instead)', () => {
    assert.equal(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' }), false);
    assert.equal(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_SAMPLER: 'sometimes' }), false);
  });
});

describe('rate-limited diag logger', () => {
  it('writes the first warning, holds back the rest of the interval, then reports their count once', () => {
    let clock = 0;
    const lines: { level: DiagSinkLevel; message: string; suppressed: number }[] = [];
    const diagLogger = rateLimitedDiagLogger((level, message, f) => lines.push({ level, message, suppressed: f.suppressed }), 30_000, () => clock);
    diagLogger.error('{"message":"connect ECONNREFUSED 127.0.0.1:4318","name":"Error","code":"ECONNREFUSED"}');
    for (let i = 0; i < 50; i++) {
      clock += 100;
      diagLogger.error('export failed', new Error(`attempt ${i}`));
    }
    assert.equal(lines.length, 1, 'one line for the first failure, none for the next 50');
    assert.equal(lines[0]?.message, 'OpenTelemetry: Error: connect ECONNREFUSED 127.0.0.1:4318 (ECONNREFUSED)');
    diagLogger.flush();
    assert.equal(lines.length, 2);
    assert.equal(lines[1]?.suppressed, 50);
    assert.match(lines[1]?.message ?? '', /50 more .*latest: export failed attempt 49/);
    diagLogger.flush();
    assert.equal(lines.length, 2, 'nothing pending, nothing written');
  });

  it('passes debug output through when asked for it (OTEL_LOG_LEVEL=debug)', () => {
    const lines: string[] = [];
    const diagLogger = rateLimitedDiagLogger((_l, message) => lines.push(message), 30_000, () => 0);
    diagLogger.debug('a');
    diagLogger.debug('b');
    assert.deepEqual(lines, ['OpenTelemetry: a', 'OpenTelemetry: b']);
  });

  it('formats arguments into one bounded line', () => {
    assert.equal(formatDiagArgs('x', ['y', { a: 1 }, new Error('z')]), 'x y {"a":1} z');
    assert.ok(formatDiagArgs('x'.repeat(5000), []).length <= 1001);
  });
});
