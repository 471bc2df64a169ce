/**
 * Start-up and shutdown of the real service (the compiled entry point as a child process):
 * configuration errors, the development key, the real models over HTTP, and SIGTERM draining
 * every request into the log.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { rawRequest } from '../helpers/http';
import { accessRecords, field, readLogFile, startService } from '../helpers/service';
import { MODEL_NAMES } from '../../src/models/catalog';
import { EXIT_CODES } from '../../src/contracts';
import { PROJECT_ROOT, SERVICE_MAIN_JS } from '../../src/paths';
import { waitUntil } from '../helpers/wait';

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

describe('the compiled service with its real models', () => {
  it('answers every model with K distinct item ids, for known and cold users', async () => {
    const service = await startService({ env: { API_KEY: 'lifecycle-key-0005', K_RECS: '10' } });
    try {
      for (const model of MODEL_NAMES) {
        for (const user of [1, 999_999_999]) {
          const res = await rawRequest(service.url, `/reco/${model}/${user}`, { headers: { Authorization: 'Bearer lifecycle-key-0005' } });
          assert.equal(res.status, 200, res.body);
          const body = res.json() as { user_id: number; items: number[] };
          assert.equal(body.user_id, user);
          assert.equal(body.items.length, 10, `${model} ${user}`);
          assert.equal(new Set(body.items).size, 10);
          for (const item of body.items) assert.ok(Number.isInteger(item) && item >= 0);
        }
      }
    } finally {
      await service.stop();
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

  it('requests in flight when SIGTERM arrives are answered and logged: zero refused', async () => {
    const service = await startService({ env: { API_KEY: 'lifecycle-key-0004', K_RECS: '50' } });
    const n = 40;
    const port = Number(new URL(service.url).port);
    // In flight, for certain: each connection sends the first half of its request head, and
    // SIGTERM goes out only once the service has accepted every connection and read every
    // byte so far (its kernel socket queues are empty, from /proc/net/tcp) — so each request
    // has begun. The second half goes out once the service has stopped listening.
    const clients = await Promise.all(Array.from({ length: n }, (_, i) => openPartialRequest(port, i)));
    await waitUntil(() => {
      const server = tcpSockets().filter((s) => s.localPort === port);
      const listener = server.find((s) => s.state === TCP_LISTEN);
      const established = server.filter((s) => s.state === TCP_ESTABLISHED);
      return listener?.queue === 0 && established.length === n && established.every((s) => s.queue === 0);
    }, 'the service accepted and read every request head so far', 20_000);
    service.child.kill('SIGTERM');
    await waitUntil(() => !tcpSockets().some((s) => s.localPort === port && s.state === TCP_LISTEN), 'the service stopped listening', 20_000);
    const results = await Promise.all(clients.map((c) => c.finish()));

    const code = await service.exited;
    assert.equal(code, 0, service.stderr());
    const refused = results.filter((r) => r.status !== 200);
    assert.deepEqual(refused, [], 'every request in flight is answered 200');
    const logged = accessRecords(readLogFile(service.logFile)).map((r) => field(r, 'user_agent.original'));
    assert.deepEqual([...logged].sort(), results.map((r) => r.agent).sort(), 'every answered request is logged, once');
  });
});

// ---------------------------------------------------------------------------------------------

interface PartialRequest {
  /** Sends the rest of the request head; resolves with the answer (or the failure). */
  finish(): Promise<{ agent: string; status: number | string }>;
}

/** Connects and sends the request line and one header: the request has begun, not ended. */
function openPartialRequest(port: number, i: number): Promise<PartialRequest> {
  const agent = `inflight-${i}`;
  return new Promise((resolveOpen, rejectOpen) => {
    const socket: Socket = connect(port, '127.0.0.1');
    let received = '';
    let failure: string | undefined;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('error', (error) => (failure = (error as NodeJS.ErrnoException).code ?? error.message));
    const ended = new Promise<void>((resolveEnd) => socket.on('close', () => resolveEnd()));
    socket.once('connect', () => {
      socket.write(`GET /reco/knn/${i + 1} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`, (error) => (error ? rejectOpen(error) : undefined));
      resolveOpen({
        finish: async () => {
          socket.end(`Authorization: Bearer lifecycle-key-0004\r\nUser-Agent: ${agent}\r\nConnection: close\r\n\r\n`);
          await ended;
          const status = /^HTTP\/1\.1 (\d{3}) /.exec(received)?.[1];
          return { agent, status: status === undefined ? (failure ?? 'no answer') : Number(status) };
        },
      });
    });
    socket.once('error', rejectOpen);
  });
}

const TCP_ESTABLISHED = 0x01;
const TCP_LISTEN = 0x0a;

/**
 * IPv4 TCP sockets from /proc/net/tcp. `queue` is the receive queue: for a listening socket
 * the connections not yet accepted by the process, for an established one the bytes not yet
 * read by it.
 */
function tcpSockets(): { localPort: number; state: number; queue: number }[] {
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((cols) => cols.length > 4)
    .map((cols) => ({
      localPort: parseInt((cols[1] as string).split(':')[1] as string, 16),
      state: parseInt(cols[3] as string, 16),
      queue: parseInt((cols[4] as string).split(':')[1] as string, 16),
    }));
}

