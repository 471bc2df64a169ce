/**
 * Every request, one line — also the ones Node's HTTP parser rejects (malformed, headers too
 * large, too slow, an unsupported Expect): answered in the JSON error shape and logged as
 * access lines. And what a hostile client can put into a line: a percent-encoded API key,
 * a 15 KB User-Agent, bidirectional control characters.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { rawRequest } from '../helpers/http';
import { accessRecords, field, readLogFile, startService, type RunningService } from '../helpers/service';
import { percentDecode } from '../../src/observability/redact';
import { waitUntil } from '../helpers/wait';

const API_KEY = 'client-errors-key-93ad1f';

/** Sends raw bytes on a fresh connection; resolves with everything the server sent back. */
function rawExchange(url: string, bytes: string, options: { pauseAfterMs?: number } = {}): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolveExchange, rejectExchange) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const chunks: Buffer[] = [];
    const guard = setTimeout(() => {
      socket.destroy();
      rejectExchange(new Error(`no answer to ${JSON.stringify(bytes.slice(0, 60))}`));
    }, 20_000);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => {
      // A reset after the answer: what was received is what counts.
    });
    socket.on('close', () => {
      clearTimeout(guard);
      resolveExchange(Buffer.concat(chunks).toString('utf8'));
    });
    socket.write(bytes);
    // pauseAfterMs: a slow client that never finishes its headers.
    if (options.pauseAfterMs === undefined) socket.end();
  });
}

function parseResponse(text: string): { status: number; contentType: string | undefined; body: unknown } {
  const [head = '', body = ''] = text.split('\r\n\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
  const contentType = /content-type: ([^\r\n]+)/i.exec(head)?.[1];
  return { status, contentType, body: body.length > 0 ? (JSON.parse(body) as unknown) : undefined };
}

describe('requests rejected by the HTTP parser', () => {
  let service: RunningService;

  before(async () => {
    service = await startService({
      env: { API_KEY, HTTP_HEADERS_TIMEOUT_MS: '500', HTTP_REQUEST_TIMEOUT_MS: '1000', HTTP_KEEP_ALIVE_TIMEOUT_MS: '1000' },
    });
  });

  after(async () => {
    await service.stop();
  });

  const cases: { name: string; bytes: string; status: number; errorType: RegExp; slow?: boolean }[] = [
    { name: 'a malformed request line', bytes: 'GET /health HTTP/1.1 garbage\r\nHost: x\r\n\r\n', status: 400, errorType: /^HPE_/ },
    { name: 'an invalid header', bytes: 'GET /health HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n', status: 400, errorType: /^HPE_/ },
    {
      name: 'headers above the 16 KB limit',
      bytes: `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      status: 431,
      errorType: /^HPE_HEADER_OVERFLOW$/,
    },
    { name: 'an unsupported Expect', bytes: 'GET /health HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\nUser-Agent: expect-test\r\n\r\n', status: 417, errorType: /^expectation_failed$/ },
    { name: 'a client too slow to send its headers', bytes: 'GET /health HTTP/1.1\r\nHost: x\r\n', status: 408, errorType: /^ERR_HTTP_REQUEST_TIMEOUT$/, slow: true },
  ];

  for (const c of cases) {
    it(`${c.name}: ${c.status} in the JSON error shape, and one access line`, async () => {
      const before = accessRecords(readLogFile(service.logFile)).filter((r) => field(r, 'http.response.status_code') === c.status).length;
      const answer = parseResponse(await rawExchange(service.url, c.bytes, c.slow === true ? { pauseAfterMs: 1 } : {}));
      assert.equal(answer.status, c.status);
      assert.match(answer.contentType ?? '', /application\/json/);
      const body = answer.body as { errors: { error_key: string; error_message: string; error_loc: unknown }[] };
      assert.equal(body.errors.length, 1);
      assert.equal(body.errors[0]?.error_key, 'http_exception');
      assert.equal(typeof body.errors[0]?.error_message, 'string');
      assert.equal(body.errors[0]?.error_loc, null);
      // The line is written asynchronously: poll for it.
      const lines = await waitUntil(() => {
        const found = accessRecords(readLogFile(service.logFile)).filter((r) => field(r, 'http.response.status_code') === c.status);
        return found.length > before && found;
      }, `the ${c.status} access line`, 5_000, 50);
      assert.equal(lines.length, before + 1, 'exactly one access line');
      const line = lines.at(-1)!;
      assert.match(String(field(line, 'error.type')), c.errorType);
      assert.equal(field(line, 'log.level'), 'warn');
      assert.equal(field(line, 'event.outcome'), 'failure');
      assert.equal(field(line, 'client.ip'), '127.0.0.1');
      assert.equal(typeof field(line, 'event.id'), 'string');
      assert.equal(field(line, 'error.grouping_key'), `${c.status} http_exception (unrouted)`, 'one error group per parser-level status');
    });
  }

  it('the service still answers normally afterwards', async () => {
    const res = await rawRequest(service.url, '/health');
    assert.equal(res.status, 200);
  });
});

describe('hostile input in log lines', () => {
  let service: RunningService;

  before(async () => {
    service = await startService({ env: { API_KEY } });
  });

  after(async () => {
    await service.stop();
  });

  it('an API key in the path, percent-encoded (any one character, or twice), is not recoverable from the log', async () => {
    const paths: string[] = [];
    for (let at = 0; at < API_KEY.length; at += 3) {
      const encoded = `${API_KEY.slice(0, at)}%${API_KEY.charCodeAt(at).toString(16).toUpperCase()}${API_KEY.slice(at + 1)}`;
      paths.push(`/reco/${encoded}/1`);
    }
    paths.push(`/reco/${API_KEY.replace('-', '%252D')}/1`);
    paths.push(`/reco/knn/${encodeURIComponent(API_KEY)}%2F`);
    for (const path of paths) await rawRequest(service.url, path, { headers: { authorization: `Bearer ${API_KEY}` } });
    await service.stop();
    const records = accessRecords(readLogFile(service.logFile));
    assert.ok(records.length >= paths.length);
    for (const record of records) {
      const text = JSON.stringify(record);
      let decoded = text;
      for (let i = 0; i < 4; i++) decoded = percentDecode(decoded);
      assert.ok(!decoded.includes(API_KEY), `key recoverable from ${String(field(record, 'url.path'))}`);
    }
  });

  it('a 15 KB User-Agent is clipped like the path; U+202E is escaped, never written raw', async () => {
    service = await startService({ env: { API_KEY } });
    const agent = `ua-${'x'.repeat(15_000)}`;
    const res = await rawRequest(service.url, '/reco/%E2%80%AEmodel/1', { headers: { authorization: `Bearer ${API_KEY}`, 'user-agent': agent } });
    assert.equal(res.status, 404);
    await service.stop();
    const text = readLogFile(service.logFile).map((r) => JSON.stringify(r)).join('\n');
    assert.ok(!/[\u202A-\u202E\u2066-\u2069]/.test(text), 'no raw bidi control character');
    const line = accessRecords(readLogFile(service.logFile)).at(-1)!;
    const logged = String(field(line, 'user_agent.original'));
    assert.ok(logged.startsWith('ua-xxx'));
    assert.ok(logged.length <= 1025, `clipped: ${logged.length}`);
    assert.match(String(field(line, 'reco.model')), /^\\u202emodel$/);
  });
});
