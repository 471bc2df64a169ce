/**
 * The log writer's parts on real files: one output's queue, batches, drop counting, write
 * errors and resumption (/dev/full always answers ENOSPC), size rotation, the repair of a
 * torn last line; and the access line's fast path against winston's path, field by field.
 */
import assert from 'node:assert/strict';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config';
import { ACCESS_DATASET } from '../../src/contracts';
import { LogOutput, type Target } from '../../src/observability/log-writer/output';
import { FileTarget, LogDirError } from '../../src/observability/log-writer/targets';
import { configureLogger, flushLogger, logEcsRecord, logger } from '../../src/observability/logger';
import { logWriterStats } from '../../src/observability/log-writer';
import { waitUntil } from '../helpers/wait';

const line = (i: number): string => `${JSON.stringify({ i, pad: 'x'.repeat(90) })}\n`;

/** A target whose descriptor the test switches (e.g. from /dev/full to a real file). */
class SwitchTarget implements Target {
  readonly name = 'test';
  constructor(public fd: number) {}
  prepare(): number {
    return this.fd;
  }
  wrote(): void {}
  close(): void {}
}

const outputOptions = { maxBatchBytes: 64 * 1024, retryMs: 20, writeDelayMs: 0, eagerBatchBytes: 64 * 1024, onError: () => {} };


/** Counts the write calls: the output asks for a descriptor once per write. */
class CountingTarget extends SwitchTarget {
  writes = 0;
  override prepare(): number {
    this.writes++;
    return this.fd;
  }
}

const nextTurn = (): Promise<void> => new Promise((resolveTurn) => setImmediate(resolveTurn));

describe('log output write delay', () => {
  it('lines queued over many event-loop turns go out in one write, which whenIdle starts without waiting for the delay', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'log-output-'));
    const fd = openSync(join(dir, 'out.ndjson'), 'a');
    const target = new CountingTarget(fd);
    // A delay no test run reaches: only whenIdle (the shutdown flush) can start the write.
    const output = new LogOutput(target, { ...outputOptions, writeDelayMs: 600_000, maxQueuedBytes: 1 << 20 });
    for (let i = 0; i < 20; i++) {
      output.accept(line(i));
      await nextTurn();
    }
    assert.equal(target.writes, 0, 'nothing written while the delay runs');
    assert.equal(output.idle(), false);
    await output.whenIdle();
    output.end();
    closeSync(fd);
    assert.equal(target.writes, 1);
    const lines = readFileSync(join(dir, 'out.ndjson'), 'utf8').trimEnd().split('\n');
    assert.deepEqual(lines.map((l) => (JSON.parse(l) as { i: number }).i), Array.from({ length: 20 }, (_, i) => i));
  });

  it('writes by itself once the delay has passed, and at once when eagerBatchBytes are queued', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'log-output-'));
    const fd = openSync(join(dir, 'out.ndjson'), 'a');
    const delayed = new LogOutput(new SwitchTarget(fd), { ...outputOptions, writeDelayMs: 5, maxQueuedBytes: 1 << 20 });
    delayed.accept(line(0));
    await waitUntil(() => delayed.stats.written === 1, 'the delayed line written without a flush');
    const eagerTarget = new CountingTarget(fd);
    const eager = new LogOutput(eagerTarget, { ...outputOptions, writeDelayMs: 600_000, eagerBatchBytes: 10 * line(0).length, maxQueuedBytes: 1 << 20 });
    for (let i = 1; i <= 10; i++) eager.accept(line(i));
    await waitUntil(() => eager.stats.written === 10, 'ten lines (eagerBatchBytes) written without waiting for the delay');
    eager.accept(line(11));
    await nextTurn();
    assert.equal(eager.snapshot().queuedLines, 1, 'one more line waits for the delay again');
    await eager.whenIdle();
    eager.end();
    delayed.end();
    closeSync(fd);
    assert.equal(eagerTarget.writes, 2);
    assert.equal(readFileSync(join(dir, 'out.ndjson'), 'utf8').trimEnd().split('\n').length, 12);
  });
});

describe('log output', () => {
  it('writes every accepted line once, in order, in batches', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'log-output-'));
    const fd = openSync(join(dir, 'out.ndjson'), 'a');
    const output = new LogOutput(new SwitchTarget(fd), { ...outputOptions, maxQueuedBytes: 10 * 1024 * 1024 });
    const n = 20_000;
    for (let i = 0; i < n; i++) output.accept(line(i));
    await output.whenIdle();
    closeSync(fd);
    const lines = readFileSync(join(dir, 'out.ndjson'), 'utf8').trimEnd().split('\n');
    assert.equal(lines.length, n);
    lines.forEach((l, i) => assert.equal((JSON.parse(l) as { i: number }).i, i));
    assert.deepEqual(output.snapshot(), { written: n, dropped: 0, droppedAtEnd: 0, writeErrors: 0, queuedBytes: 0, queuedLines: 0 });
  });

  it('bounds memory: beyond maxQueuedBytes lines are dropped and counted; errors are retried until the target accepts bytes again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'log-output-'));
    const full = openSync('/dev/full', 'w');
    const target = new SwitchTarget(full);
    const maxQueuedBytes = Array.from({ length: 50 }, (_, i) => line(i).length).reduce((a, b) => a + b, 0);
    const output = new LogOutput(target, { ...outputOptions, maxQueuedBytes });
    for (let i = 0; i < 80; i++) output.accept(line(i));
    await waitUntil(() => output.stats.writeErrors >= 2, 'retried write errors');
    const during = output.snapshot();
    assert.equal(during.dropped, 30, '80 offered, 50 fit');
    assert.equal(during.droppedAtEnd, 0, 'a full queue, not a shutdown');
    assert.equal(during.queuedLines, 50);
    assert.ok(during.queuedBytes <= maxQueuedBytes);
    assert.equal(output.lastError?.code, 'ENOSPC');
    // The "disk" has room again: the queued lines go out by themselves, in order.
    const file = join(dir, 'out.ndjson');
    const fd = openSync(file, 'a');
    target.fd = fd;
    await waitUntil(() => output.idle(), 'the queue to drain after the error');
    closeSync(fd);
    closeSync(full);
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    assert.deepEqual(
      lines.map((l) => (JSON.parse(l) as { i: number }).i),
      Array.from({ length: 50 }, (_, i) => i),
    );
    assert.equal(output.snapshot().written, 50);
  });

  it('end() counts what is still queued as dropped and refuses later lines without throwing', () => {
    const full = openSync('/dev/full', 'w');
    const output = new LogOutput(new SwitchTarget(full), { ...outputOptions, maxQueuedBytes: 1 << 20 });
    for (let i = 0; i < 10; i++) output.accept(line(i));
    assert.equal(output.end(), 10);
    output.accept(line(11));
    assert.equal(output.stats.dropped, 11);
    // All eleven are shutdown losses, none a full queue (the metrics tell the two apart).
    assert.equal(output.stats.droppedAtEnd, 11);
    closeSync(full);
  });
});

describe('log file rotation', () => {
  it('rotates by size between batches: every line in exactly one file, whole, no file above the limit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'log-rotate-'));
    const maxBytes = 10_000;
    const target = new FileTarget({ dir, file: 'app.ndjson', maxBytes, maxFiles: 1000, onError: (e) => assert.fail(e) });
    const output = new LogOutput(target, { ...outputOptions, maxBatchBytes: maxBytes, maxQueuedBytes: 1 << 24 });
    const n = 3_000;
    // In bursts, so that batches of different sizes meet the limit.
    for (let i = 0; i < n; i++) {
      output.accept(line(i));
      if (i % 97 === 0) await new Promise((r) => setImmediate(r));
    }
    await output.whenIdle();
    target.close();
    const rotated = readdirSync(dir)
      .filter((f) => f !== 'app.ndjson')
      .sort();
    assert.ok(rotated.length >= 20, `rotations: ${rotated.length}`);
    assert.equal(target.rotations, rotated.length);
    assert.match(rotated[0]!, /^app\.000001\.ndjson$/);
    const ids: number[] = [];
    for (const file of [...rotated, 'app.ndjson']) {
      assert.ok(statSync(join(dir, file)).size <= maxBytes, `${file} within the limit`);
      for (const l of readFileSync(join(dir, file), 'utf8').trimEnd().split('\n')) ids.push((JSON.parse(l) as { i: number }).i);
    }
    assert.deepEqual(ids, Array.from({ length: n }, (_, i) => i), 'all lines, once, in order across the files');
  });

  it('keeps at most maxFiles files, deleting the oldest; numbering continues after a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'log-rotate-'));
    const options = { dir, file: 'app.ndjson', maxBytes: 1_000, maxFiles: 3, onError: (e: Error) => assert.fail(e) };
    for (let run = 0; run < 2; run++) {
      const target = new FileTarget(options);
      const output = new LogOutput(target, { ...outputOptions, maxBatchBytes: 1_000, maxQueuedBytes: 1 << 20 });
      for (let i = 0; i < 100; i++) {
        output.accept(line(i));
        await new Promise((r) => setImmediate(r));
      }
      await output.whenIdle();
      target.close();
    }
    const files = readdirSync(dir).sort();
    assert.equal(files.length, 3);
    assert.ok(files.includes('app.ndjson'));
    const seqs = files.filter((f) => f !== 'app.ndjson').map((f) => Number(/\.(\d+)\./.exec(f)?.[1]));
    // Two runs of ~10 rotations each: the survivors are the newest numbers.
    assert.ok(seqs.every((s) => s > 15), `newest kept: ${files.join(', ')}`);
  });

  it('a torn last line (kill -9 mid-write) is ended before the next record is appended', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'log-torn-'));
    writeFileSync(join(dir, 'app.ndjson'), `${line(1)}{"i":2,"pad":"xx`);
    const target = new FileTarget({ dir, file: 'app.ndjson', maxBytes: 1 << 20, maxFiles: 2, onError: (e) => assert.fail(e) });
    const output = new LogOutput(target, { ...outputOptions, maxQueuedBytes: 1 << 20 });
    output.accept(line(3));
    await output.whenIdle();
    target.close();
    const lines = readFileSync(join(dir, 'app.ndjson'), 'utf8').trimEnd().split('\n');
    assert.equal(lines.length, 3);
    assert.equal((JSON.parse(lines[2]!) as { i: number }).i, 3, 'the new record is a line of its own');
  });

  it('an unusable directory is a LogDirError naming it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'log-bad-'));
    const notADir = join(dir, 'plain-file');
    writeFileSync(notADir, '');
    assert.throws(
      () => new FileTarget({ dir: join(notADir, 'logs'), file: 'app.ndjson', maxBytes: 1000, maxFiles: 2, onError: () => {} }),
      (e: unknown) => e instanceof LogDirError && e.message.includes('plain-file') && /ENOTDIR/.test(e.message),
    );
    assert.equal(existsSync(join(notADir, 'logs')), false);
  });
});

describe('access line fast path', () => {
  it('writes the same ECS document as winston, field by field', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'log-paths-'));
    const config = loadConfig({ LOG_DIR: dir, LOG_STDOUT: 'false', SERVICE_ENVIRONMENT: 'paths-test' });
    configureLogger(config);
    const record = (): Record<string, unknown> => ({
      event: { dataset: ACCESS_DATASET, kind: 'event', category: ['web'], type: ['access'], outcome: 'failure', duration: 1234567 },
      http: { request: { method: 'GET' }, response: { status_code: 404 } },
      url: { path: '/reco/nope/1' },
      client: { ip: '127.0.0.1' },
      user_agent: { original: 'paths-test/1.0' },
      reco: { model: 'nope', user_id: 1, error_key: 'model_not_found' },
      trace: { id: '0af7651916cd43dd8448eb211c80319c' },
      span: { id: 'b7ad6b7169203331' },
      error: { type: 'model_not_found', message: 'Model nope not found' },
    });
    logger.log('warn', 'GET /reco/nope/1 404 1.2ms', record());
    logEcsRecord('warn', 'GET /reco/nope/1 404 1.2ms', record());
    assert.equal(await flushLogger(5_000), true);
    assert.equal(logWriterStats().file?.written, 2);
    const [viaWinston, viaFastPath] = readFileSync(join(dir, config.log.file), 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(viaWinston && viaFastPath);
    const strip = (doc: Record<string, unknown>): Record<string, unknown> => {
      const copy = structuredClone(doc);
      assert.match(String(copy['@timestamp']), /^\d{4}-\d\d-\d\dT/);
      delete copy['@timestamp'];
      const event = copy.event as Record<string, unknown>;
      assert.match(String(event.id), /^[0-9a-f-]{36}$/);
      delete event.id;
      return copy;
    };
    assert.deepEqual(strip(viaFastPath), strip(viaWinston));
    assert.deepEqual(Object.keys(viaFastPath).sort(), Object.keys(viaWinston).sort());
    assert.notEqual((viaFastPath.event as { id: string }).id, (viaWinston.event as { id: string }).id);
    assert.equal((viaFastPath.service as { environment: string }).environment, 'paths-test');
  });
});

describe('configuration of the writer and the server timeouts', () => {
  it('defaults, fractional sizes, and the headers ≤ request timeout rule', () => {
    const config = loadConfig({});
    assert.equal(config.log.bufferBytes, 16 * 1024 * 1024);
    assert.equal(config.log.reportIntervalMs, 10_000);
    const { headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs } = config.http;
    assert.deepEqual({ headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs }, { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000 });
    assert.equal(loadConfig({ LOG_MAX_SIZE_MB: '0.01', LOG_BUFFER_MAX_MB: '0.5' }).log.maxSizeBytes, 10_486);
    assert.throws(() => loadConfig({ HTTP_HEADERS_TIMEOUT_MS: '20000', HTTP_REQUEST_TIMEOUT_MS: '10000' }), /HTTP_HEADERS_TIMEOUT_MS/);
    assert.throws(() => loadConfig({ LOG_BUFFER_MAX_MB: '0' }), /LOG_BUFFER_MAX_MB/);
    assert.throws(() => loadConfig({ HTTP_KEEP_ALIVE_TIMEOUT_MS: 'soon' }), /HTTP_KEEP_ALIVE_TIMEOUT_MS/);
  });
});
