/**
 * LOG_FORMAT on the compiled service: `pretty` makes stdout short human-readable lines while
 * the file stays ECS JSON; `auto` on a pipe (not a terminal) is ECS JSON on both.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SERVICE_MAIN_JS } from '../../src/paths';
import { field, readLogFile, serviceEnv } from '../helpers/service';
import { waitUntil } from '../helpers/wait';

async function runUntilListening(format: string): Promise<{ stdout: string[]; file: ReturnType<typeof readLogFile> }> {
  const dir = mkdtempSync(join(tmpdir(), 'recoscope-format-'));
  const child = spawn(process.execPath, [SERVICE_MAIN_JS], {
    env: serviceEnv(0, dir, { API_KEY: 'log-format-key-0123456789', LOG_FORMAT: format }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    await waitUntil(
      () => readLogFile(join(dir, 'recoscope.ndjson')).some((r) => field(r, 'event.action') === 'listening') && /listening on http/.test(out),
      'the listening line in the file and on stdout',
      60_000,
      50,
    );
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
  return { stdout: out.split('\n').filter((l) => l.length > 0), file: readLogFile(join(dir, 'recoscope.ndjson')) };
}

describe('LOG_FORMAT', () => {
  it('pretty: stdout is short lines (time, level, message), the file is ECS JSON', async () => {
    const { stdout, file } = await runUntilListening('pretty');
    const listening = stdout.find((l) => l.includes('listening on http'));
    assert.ok(listening, stdout.join('\n'));
    assert.match(listening, /^\d\d:\d\d:\d\d\.\d{3} INFO {2}listening on http:\/\/127\.0\.0\.1:\d+ /);
    assert.ok(stdout.every((l) => !l.startsWith('{')), 'no JSON line on stdout');
    assert.ok(file.length >= 2 && file.every((r) => typeof field(r, 'event.id') === 'string'), 'the file has ECS records');
  });

  it('auto on a pipe: stdout is ECS JSON, as the file', async () => {
    const { stdout } = await runUntilListening('auto');
    const records = stdout.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(records.some((r) => field(r, 'event.action') === 'listening'));
  });
});
