/**
 * Probe: process CPU per access line written to a log file, in process (no HTTP), for
 *  - ours: the service's fast path (`logEcsRecord`: ECS document, event.id, redaction,
 *    JSON) into its log writer (bounded queue, batch writes, rotation, drops counted);
 *  - pino: pino + @elastic/ecs-pino-format into sonic-boom (`pino.destination`, async,
 *    `minLength` 4096), the same record and message, the Authorization header redacted the
 *    pino way (`redact` paths) — what the peer stack runs.
 *  - ours-every-turn: ours with LOG_WRITE_DELAY_MS=0, a write per event-loop turn (the writer
 *    before the write delay), so one run shows what the delay saves.
 * Lines go out FILE_LOG_PROBE_PER_TURN (default 40: a saturated server's rhythm; a server at
 * 16 connections handles one or two) per turn of the event loop, then the writer is
 * flushed. process.cpuUsage() covers every thread, so the libuv thread pool's write work is
 * included. Afterwards the file's lines are counted: a variant that lost lines says so.
 *
 *   FILE_LOG_PROBE=ours|ours-every-turn|pino FILE_LOG_PROBE_LINES=100000 FILE_LOG_PROBE_PER_TURN=40 node dist/bench/probes/file-log.js
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ecsFormat } from '@elastic/ecs-pino-format';
import { pino } from 'pino';
import { ACCESS_DATASET } from '../../src/contracts';
import { configureLogger, flushLogger, logEcsRecord } from '../../src/observability/logger';
import { loadConfig } from '../../src/config';
import { emit } from './protocol';

export interface FileLogProbeResult {
  variant: string;
  lines: number;
  linesInFile: number;
  cpuUsPerLine: number;
  bytesPerLine: number;
}

const cpuUs = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/** An access line's fields, as the service's access log builds them for /reco/knn. */
function record(i: number): Record<string, unknown> {
  return {
    event: { dataset: ACCESS_DATASET, kind: 'event', category: ['web'], type: ['access'], outcome: 'success', duration: 412_000 },
    http: { version: '1.1', request: { method: 'GET', id: `req-${i}` }, response: { status_code: 200, body: { bytes: 62 } } },
    url: { path: `/reco/knn/${i % 20_000}` },
    user_agent: { original: 'autocannon' },
    client: { ip: '127.0.0.1' },
    reco: { model: 'knn', user_id: i % 20_000, k: 10, items_count: 10, cold_start: false, fallback: 0 },
  };
}

async function main(): Promise<void> {
  const variant = process.env.FILE_LOG_PROBE ?? 'ours';
  const n = Number.parseInt(process.env.FILE_LOG_PROBE_LINES ?? '100000', 10);
  const perTurn = Number.parseInt(process.env.FILE_LOG_PROBE_PER_TURN ?? '40', 10);
  const dir = mkdtempSync(join(tmpdir(), 'file-log-probe-'));
  let write: (i: number) => void;
  let finish: () => Promise<void>;
  if (variant === 'ours' || variant === 'ours-every-turn') {
    const config = loadConfig({ LOG_DIR: dir, LOG_STDOUT: 'false', LOG_FILE_ENABLED: 'true', ...(variant === 'ours' ? {} : { LOG_WRITE_DELAY_MS: '0' }) });
    configureLogger(config);
    write = (i) => logEcsRecord('info', 'GET /reco/knn 200', record(i));
    finish = async () => {
      await flushLogger(30_000);
    };
  } else {
    const destination = pino.destination({ dest: join(dir, 'pino.ndjson'), minLength: 4096, sync: false });
    const log = pino({ ...ecsFormat(), redact: ['req.headers.authorization'] }, destination);
    write = (i) => log.info(record(i), 'GET /reco/knn 200');
    finish = () =>
      new Promise<void>((resolveEnd) => {
        destination.once('close', () => resolveEnd());
        destination.end();
      });
  }
  // Warm-up (optimised code), not counted.
  for (let i = 0; i < 2_000; i++) write(i);
  await new Promise<void>((r) => setTimeout(r, 200));
  const t0 = cpuUs();
  for (let i = 0; i < n; ) {
    for (let j = 0; j < perTurn && i < n; j++) write(i++);
    await new Promise<void>((r) => setImmediate(r));
  }
  await finish();
  const cpu = cpuUs() - t0;
  let linesInFile = 0;
  let bytes = 0;
  for (const f of readdirSync(dir)) {
    const text = readFileSync(join(dir, f), 'utf8');
    bytes += Buffer.byteLength(text);
    linesInFile += text.split('\n').filter((l) => l.length > 0).length;
  }
  rmSync(dir, { recursive: true, force: true });
  const result: FileLogProbeResult = { variant, lines: n, linesInFile: linesInFile - 2_000, cpuUsPerLine: cpu / n, bytesPerLine: bytes / (n + 2_000) };
  emit(result);
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
