/**
 * Runs the logs e2e (logs.e2e.test.ts) again and again, so that a rare loss between the log
 * files and Elasticsearch shows up, and keeps what is needed to explain one:
 *
 *   npm run test:e2e:logs-loop -- --runs 20 [--max-size-mb 0.01,0.002] [--keep-dir DIR] [--skip-idle]
 *
 * Run i uses the i-th rotation size of --max-size-mb (cycling), Filebeat logs at debug level
 * (every file event and harvester start/stop), and on a failure the run's Filebeat registry and
 * log, the service's log files, the event ids in Elasticsearch and the test output stay in
 * DIR/run-<i>; a passing run's directory is removed. Exit code 1 if any run failed.
 * A summary (runs, failures, seconds per run) is written to DIR/summary.json. --skip-idle leaves
 * out the e2e's deterministic 65 s idle-then-rotate test (CI runs it once in npm run test:e2e).
 */
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../../src/paths';

interface RunResult {
  run: number;
  maxSizeMb: string;
  passed: boolean;
  seconds: number;
  kept?: string;
}

const USAGE = 'usage: npm run test:e2e:logs-loop -- --runs N [--max-size-mb 0.01[,0.002...]] [--keep-dir DIR] [--skip-idle]';

/** A wrong command line: one line naming the problem, the usage, exit 2 (like every CLI here). */
function usageError(message: string): never {
  process.stderr.write(`test:e2e:logs-loop: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function parse(): { runs: number; sizes: string[]; keepDir: string; skipIdle: boolean } {
  let values: { runs: string; 'max-size-mb': string; 'keep-dir'?: string; 'skip-idle': boolean; help: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        runs: { type: 'string', default: '5' },
        'max-size-mb': { type: 'string', default: '0.01' },
        'keep-dir': { type: 'string' },
        'skip-idle': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (error) {
    usageError((error as Error).message);
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (!/^[1-9]\d*$/.test(values.runs)) usageError(`--runs must be a positive integer, got "${values.runs}"`);
  const sizes = values['max-size-mb'].split(',').map((s) => s.trim());
  if (sizes.some((s) => !/^\d+(\.\d+)?$/.test(s) || Number(s) <= 0)) {
    usageError(`--max-size-mb must be positive decimal numbers separated by commas, got "${values['max-size-mb']}"`);
  }
  const keepDir = values['keep-dir'] ?? join(tmpdir(), `recoscope-logs-loop-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  return { runs: Number(values.runs), sizes, keepDir, skipIdle: values['skip-idle'] };
}

function runOnce(dir: string, maxSizeMb: string, skipIdle: boolean): Promise<boolean> {
  mkdirSync(dir, { recursive: true });
  const out = createWriteStream(join(dir, 'test-output.txt'));
  return new Promise((resolveRun) => {
    const child = spawn(
      process.execPath,
      ['--test', '--test-concurrency=1', join(PROJECT_ROOT, 'dist', 'test', 'e2e', 'logs.e2e.test.js')],
      {
        cwd: PROJECT_ROOT,
        env: {
          ...process.env,
          LOGS_E2E_MAX_SIZE_MB: maxSizeMb,
          LOGS_E2E_KEEP_DIR: dir,
          FILEBEAT_LOG_LEVEL: 'debug',
          ...(skipIdle ? { LOGS_E2E_SKIP_IDLE: '1' } : {}),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child.stdout.pipe(out, { end: false });
    child.stderr.pipe(out, { end: false });
    child.on('close', (code) => {
      out.end(() => resolveRun(code === 0));
    });
  });
}

async function main(): Promise<void> {
  const { runs, sizes, keepDir, skipIdle } = parse();
  mkdirSync(keepDir, { recursive: true });
  console.log(`logs e2e loop: ${runs} runs, rotation sizes ${sizes.join(', ')} MB, failed runs kept in ${keepDir}`);
  const results: RunResult[] = [];
  for (let i = 1; i <= runs; i++) {
    const maxSizeMb = sizes[(i - 1) % sizes.length]!;
    const dir = join(keepDir, `run-${String(i).padStart(3, '0')}`);
    const t0 = Date.now();
    const passed = await runOnce(dir, maxSizeMb, skipIdle);
    const seconds = Math.round((Date.now() - t0) / 1000);
    if (passed) rmSync(dir, { recursive: true, force: true });
    results.push({ run: i, maxSizeMb, passed, seconds, ...(passed ? {} : { kept: dir }) });
    console.log(`run ${i}/${runs} (LOG_MAX_SIZE_MB=${maxSizeMb}): ${passed ? 'pass' : `FAIL, kept in ${dir}`} (${seconds} s)`);
    writeFileSync(join(keepDir, 'summary.json'), `${JSON.stringify({ runs: results.length, failed: results.filter((r) => !r.passed).length, results }, null, 2)}\n`);
  }
  const failed = results.filter((r) => !r.passed);
  console.log(`logs e2e loop: ${results.length - failed.length}/${results.length} passed${failed.length > 0 ? `; failed: ${failed.map((r) => r.run).join(', ')}` : ''}`);
  process.exitCode = failed.length > 0 ? 1 : 0;
}

void main();
