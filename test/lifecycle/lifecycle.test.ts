/**
 * Start-up and shutdown of the real service: configuration errors, the development key,
 * and SIGTERM draining every request into the log.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { describe, it } from 'node:test';
import { rawRequest } from '../helpers/http';
import { accessRecords, field, readLogFile, startService } from '../helpers/service';
import { EXIT_CODES } from '../../src/contracts';
import { PROJECT_ROOT, SERVICE_MAIN_JS } from '../../src/paths';

describe('start-up', () => {
  it('a bad variable stops start-up with one clear line naming it, exit code 2', () => {
    const run = spawnSync(process.execPath, [SERVICE_MAIN_JS], {
      cwd: PROJECT_ROOT,
      env: { PATH: process.env.PATH, PORT: 'eighty', K_RECS: '0', API_KEY: 'short' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(run.status, 2);
    assert.match(run.stderr, /invalid configuration/);
    assert.match(run.stderr, /PORT/);
    assert.match(run.stderr, /K_RECS/);
    assert.match(run.stderr, /API_KEY: must be at least 16 characters/);
    assert.ok(!run.stderr.includes('short'), 'the bad key value is not echoed');
  });

  it('without API_KEY a development key is printed on stderr only, and it works', async () => {
    const service = await startService({ env: {} });
    try {
      const match = /Bearer ([A-Za-z0-9_-]{20,})/.exec(service.stderr());
      assert.ok(match?.[1], `stderr shows the key: ${service.stderr()}`);
      const key = match[1];
      const res = await rawRequest(service.url, '/reco/popular/1', { headers: { Authorization: `Bearer ${key}` } });
      assert.equal(res.status, 200);
      await service.stop();
      const everything = JSON.stringify(readLogFile(service.logFile)) + JSON.stringify(service.stdoutRecords);
      assert.ok(!everything.includes(key), 'the generated key never reaches the log stream');
      assert.ok(
        service.stdoutRecords.some((r) => field(r, 'event.action') === 'dev-api-key'),
        'a warning says a development key is in use',
      );
    } finally {
      await service.stop();
    }
  });

  it('a port in use is one line on stderr and exit 4 (EXIT_CODES.listen), not a crash trace', async () => {
    const first = await startService({ env: { API_KEY: 'lifecycle-key-0001' } });
    try {
      const port = new URL(first.url).port;
      const run = spawnSync(process.execPath, [SERVICE_MAIN_JS], {
        cwd: PROJECT_ROOT,
        env: { PATH: process.env.PATH, PORT: port, HOST: '127.0.0.1', API_KEY: 'lifecycle-key-0002', LOG_FILE_ENABLED: 'false', SYNTHETIC_USERS: '200', SYNTHETIC_ITEMS: '50', SYNTHETIC_INTERACTIONS: '2000' },
        encoding: 'utf8',
        timeout: 60_000,
      });
      assert.equal(run.status, EXIT_CODES.listen);
      assert.equal(run.stderr, `recoscope: cannot listen on 127.0.0.1:${port}: address already in use (EADDRINUSE)\n`);
    } finally {
      await first.stop();
    }
  });
});

describe('SIGTERM', () => {
  it('after N answered requests, the log holds exactly N access lines and the process exits 0', async () => {
    const service = await startService({ env: { API_KEY: 'lifecycle-key-0003' } });
    const n = 57;
    for (let i = 0; i < n; i++) {
      const res = await rawRequest(service.url, `/reco/${i % 2 === 0 ? 'knn' : 'popular'}/${i}`, {
        headers: { Authorization: 'Bearer lifecycle-key-0003' },
      });
      assert.equal(res.status, 200);
    }
    const code = await service.stop('SIGTERM');
    assert.equal(code, 0);
    const records = readLogFile(service.logFile);
    assert.equal(accessRecords(records).length, n);
    assert.equal(field(records.at(-1)!, 'event.action'), 'shutdown-complete', 'the last line says shutdown completed');
  });

  it('requests in flight when SIGTERM arrives are answered and logged', async (t) => {
    const service = await startService({ env: { API_KEY: 'lifecycle-key-0004', K_RECS: '50' } });
    const n = 40;
    const url = new URL(service.url);
    let signalled = false;
    // One connection per request, all sent at once; SIGTERM goes out with the first answer,
    // while the rest are still queued in the server.
    const results = await Promise.all(
      Array.from(
        { length: n },
        (_, i) =>
          new Promise<{ agent: string; status: number | 'error' }>((resolveResult) => {
            const agent = `inflight-${i}`;
            const req = request(
              {
                host: url.hostname,
                port: url.port,
                path: `/reco/knn/${i + 1}`,
                headers: { Authorization: 'Bearer lifecycle-key-0004', 'User-Agent': agent },
                agent: false,
              },
              (res) => {
                if (!signalled) {
                  signalled = true;
                  service.child.kill('SIGTERM');
                }
                res.resume();
                res.on('end', () => resolveResult({ agent, status: res.statusCode ?? 0 }));
              },
            );
            req.on('error', () => resolveResult({ agent, status: 'error' }));
            req.end();
          }),
      ),
    );
    const code = await service.exited;
    assert.equal(code, 0);
    const answered = results.filter((r) => r.status !== 'error').map((r) => r.agent);
    assert.ok(results.every((r) => r.status === 200 || r.status === 'error'), 'answers are 200s');
    assert.ok(answered.length > 0);
    const logged = accessRecords(readLogFile(service.logFile)).map((r) => field(r, 'user_agent.original'));
    assert.deepEqual([...logged].sort(), [...answered].sort(), 'every answered request is logged, once');
    const refused = results.filter((r) => r.status === 'error').length;
    t.diagnostic(`in flight: ${n}, answered: ${answered.length}, refused after close: ${refused}`);
  });
});
