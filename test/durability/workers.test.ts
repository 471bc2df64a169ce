/**
 * The worker model (WORKERS=2, src/cluster/) under closed-loop load, on the real compiled
 * service and real processes:
 *  - SIGTERM under load, 3 times: exit 0, and every 2xx received has its access line in the
 *    workers' log files (0 missing), every line parses, both workers served;
 *  - a worker killed -9 under load is forked again by the supervisor (logged), and the
 *    service keeps answering 2xx through it and after it.
 * Every wait polls with a bound; nothing asserts wall-clock durations.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { field, type LogRecord } from '../helpers/service';
import { join } from 'node:path';
import { okAccessLines, parseLines, readLogDirLines, sleep, spawnService, startLoad, type SpawnedService } from './durability';

const API_KEY = 'durability-workers-key-2f9a61';
const CONNECTIONS = 16;

function actions(records: LogRecord[], action: string): LogRecord[] {
  return records.filter((r) => field(r, 'event.action') === action);
}

/** Polls until `check` holds; the bound only ends a broken run. */
async function until(check: () => boolean, what: string, boundMs = 120_000): Promise<void> {
  const deadline = Date.now() + boundMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Both workers have trained their models and serve (each logs `listening`). */
async function bothListening(service: SpawnedService): Promise<void> {
  await until(() => actions(readLogDirLines(service.logDir).records, 'listening').length >= 2, 'two listening workers');
}

/** The pids of the supervisor's children (its workers), from /proc. */
function childPids(parent: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

describe('WORKERS=2 under load', { timeout: 10 * 60_000 }, () => {
  it('SIGTERM under load, 3 times: exit 0 and every 2xx has its access line (0 missing)', async (t) => {
    const results: string[] = [];
    for (let run = 0; run < 3; run++) {
      const service = await spawnService({ env: { API_KEY, WORKERS: '2', SHUTDOWN_TIMEOUT_MS: '10000' }, stdout: 'file' });
      t.after(() => service.stop('SIGKILL'));
      await bothListening(service);
      const userAgent = `workers-sigterm-${run}`;
      const load = startLoad({ url: service.url, apiKey: API_KEY, connections: CONNECTIONS, durationSeconds: 60, userAgent });
      // A bounded while of load (some answers, ~2 s), then SIGTERM to the supervisor mid-load.
      const end = Date.now() + 2_000;
      while (Date.now() < end) await sleep(100);
      const code = await service.stop('SIGTERM');
      await load.stop();
      const files = readLogDirLines(service.logDir);
      const access = okAccessLines(files.records, userAgent);
      // Each worker writes its own file (<name>-w<slot>.ndjson): which ones have access lines.
      const servedBy = new Set(
        readdirSync(service.logDir)
          .filter((f) => /-w\d+\./.test(f))
          .filter((f) => okAccessLines(parseLines(readFileSync(join(service.logDir, f), 'utf8')).records, userAgent).length > 0)
          .map((f) => f.replace(/\.\d+\.ndjson$/, '.ndjson')),
      );
      results.push(`run ${run}: exit ${code}, 2xx ${load.ok()}, access lines ${access.length}, served by ${servedBy.size} worker(s)`);
      assert.equal(code, 0, `run ${run}: exit code\n${service.stderr()}`);
      assert.ok(load.ok() > 0, `run ${run}: the load got answers`);
      assert.equal(access.length, load.ok(), `run ${run}: an access line per 2xx`);
      assert.equal(files.unparsable, 0, `run ${run}: every line parses`);
      assert.equal(actions(files.records, 'shutdown-complete').length, 3, `run ${run}: both workers and the supervisor completed their shutdown`);
      assert.equal(servedBy.size, 2, `run ${run}: both workers served`);
    }
    t.diagnostic(results.join('\n'));
  });

  it('a worker killed -9 under load is restarted and the service keeps answering', async (t) => {
    const service = await spawnService({ env: { API_KEY, WORKERS: '2' }, stdout: 'file' });
    t.after(() => service.stop('SIGKILL'));
    await bothListening(service);
    const supervisor = service.child.pid!;
    const before = childPids(supervisor);
    assert.equal(before.length, 2, `two workers: ${before.join(', ')}`);
    const load = startLoad({ url: service.url, apiKey: API_KEY, connections: CONNECTIONS, durationSeconds: 120, userAgent: 'workers-kill' });
    t.after(() => load.stop());
    await until(() => load.ok() >= 200, '200 answers before the kill');
    const victim = before[0]!;
    process.kill(victim, 'SIGKILL');
    await until(() => actions(readLogDirLines(service.logDir).records, 'worker-restart').length === 1, 'the restart log line');
    await until(() => actions(readLogDirLines(service.logDir).records, 'listening').length >= 3, 'the new worker listening');
    const now = childPids(supervisor);
    assert.equal(now.length, 2, `two workers again: ${now.join(', ')}`);
    assert.ok(!now.includes(victim), 'the killed one is not among them');
    const atRestart = load.ok();
    await until(() => load.ok() >= atRestart + 200, '200 more answers after the restart');
    await load.stop();
    const restart = actions(readLogDirLines(service.logDir).records, 'worker-restart')[0]!;
    assert.equal(field(restart, 'recoscope.worker.signal'), 'SIGKILL');
    assert.equal(field(restart, 'recoscope.worker.pid'), victim);
    t.diagnostic(`2xx ${load.ok()} of ${load.answered()} answers; restart: ${String(field(restart, 'message'))}`);
    assert.equal(await service.stop('SIGTERM'), 0);
  });
});
