import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger, format, transports } from 'winston';
import { createAuthThrottle } from '../../src/http/auth-throttle';

/** A real winston logger writing JSON lines into an array. */
function memoryLogger(): { logger: ReturnType<typeof createLogger>; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      callback();
    },
  });
  const logger = createLogger({ level: 'info', format: format.json(), transports: [new transports.Stream({ stream })] });
  return { logger, lines };
}

describe('wrong-key throttle', () => {
  it('allows `limit` failures, then answers with the seconds left in the window', () => {
    let now = 1_000_000;
    const { logger } = memoryLogger();
    const throttle = createAuthThrottle({ limit: 3, windowMs: 60_000, logger, now: () => now });
    for (let i = 0; i < 3; i++) {
      assert.equal(throttle.retryAfterSeconds('10.0.0.1'), 0, `attempt ${i + 1} is checked`);
      throttle.recordFailure('10.0.0.1');
    }
    assert.equal(throttle.retryAfterSeconds('10.0.0.1'), 60);
    now += 45_500;
    assert.equal(throttle.retryAfterSeconds('10.0.0.1'), 15, 'rounded up');
    assert.equal(throttle.retryAfterSeconds('10.0.0.2'), 0, 'another address is not affected');
    now += 14_500;
    assert.equal(throttle.retryAfterSeconds('10.0.0.1'), 0, 'the window is over: checked again');
    assert.equal(throttle.size(), 0, 'and forgotten');
  });

  it('logs a burst once, as a security event with the count and the address, never more per window', async () => {
    let now = 0;
    const { logger, lines } = memoryLogger();
    const throttle = createAuthThrottle({ limit: 5, windowMs: 10_000, logger, now: () => now });
    for (let i = 0; i < 300; i++) {
      if (throttle.retryAfterSeconds('192.0.2.7') === 0) throttle.recordFailure('192.0.2.7');
      now += 10;
    }
    await new Promise((resolveTick) => setImmediate(resolveTick));
    assert.equal(lines.length, 1, JSON.stringify(lines));
    const line = lines[0]!;
    assert.equal(line.level, 'warn');
    assert.deepEqual(line.event, {
      kind: 'event',
      category: ['authentication', 'intrusion_detection'],
      type: ['denied'],
      action: 'auth-throttled',
      outcome: 'failure',
    });
    assert.deepEqual(line.client, { ip: '192.0.2.7' });
    assert.equal((line.recoscope as { auth_failures: number }).auth_failures, 5);
    // A new window, a new burst: one more line.
    now += 10_000;
    for (let i = 0; i < 10; i++) if (throttle.retryAfterSeconds('192.0.2.7') === 0) throttle.recordFailure('192.0.2.7');
    await new Promise((resolveTick) => setImmediate(resolveTick));
    assert.equal(lines.length, 2);
  });

  it('limit 0 turns it off', () => {
    const { logger, lines } = memoryLogger();
    const throttle = createAuthThrottle({ limit: 0, windowMs: 60_000, logger });
    for (let i = 0; i < 1000; i++) throttle.recordFailure('10.0.0.1');
    assert.equal(throttle.retryAfterSeconds('10.0.0.1'), 0);
    assert.equal(throttle.size(), 0);
    assert.equal(lines.length, 0);
  });

  it('tracks a bounded number of addresses, evicting the oldest', () => {
    const { logger } = memoryLogger();
    const throttle = createAuthThrottle({ limit: 2, windowMs: 60_000, logger, maxAddresses: 100 });
    for (let i = 0; i < 2; i++) throttle.recordFailure('first');
    assert.ok(throttle.retryAfterSeconds('first') > 0);
    for (let i = 0; i < 1000; i++) throttle.recordFailure(`10.0.${i >> 8}.${i & 255}`);
    assert.equal(throttle.size(), 100);
    assert.equal(throttle.retryAfterSeconds('first'), 0, 'the oldest entry was evicted');
  });
});
