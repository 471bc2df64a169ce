/**
 * Every command-line tool runs in the one skeleton (runCli in src/cli/usage.ts): a wrong flag
 * prints the usage and exits 2, any other failure prints one line and exits 1, and neither
 * ever shows a stack trace. Each compiled CLI is run as a user runs it (a child process).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { freePort } from '../../loadtest/child-server';
import { PROJECT_ROOT, compiled } from '../../src/paths';

const execFileAsync = promisify(execFile);

interface Cli {
  /** The name it prefixes its messages with. */
  name: string;
  /** Source path without extension, relative to the project root. */
  source: string;
}

const CLIS: Cli[] = [
  { name: 'train', source: 'src/cli/train' },
  { name: 'models', source: 'src/cli/models' },
  { name: 'data:generate', source: 'src/cli/generate' },
  { name: 'elk:setup', source: 'elk/setup-cli' },
  { name: 'stack-setup', source: 'elk/stack-setup-cli' },
  { name: 'logs', source: 'elk/logs-cli' },
  { name: 'kibana:objects', source: 'elk/kibana/objects-cli' },
  { name: 'load', source: 'loadtest/cli' },
  { name: 'profile', source: 'profiles/cli' },
  { name: 'profile:compare', source: 'profiles/compare-cli' },
  { name: 'profile:continuous', source: 'profiles/continuous-cli' },
  { name: 'bench', source: 'bench/cli' },
  { name: 'bench:scale', source: 'bench/scale-cli' },
  { name: 'bench:tracing', source: 'bench/tracing-cli' },
  { name: 'bench:auth', source: 'bench/auth-cli' },
  { name: 'bench:log', source: 'bench/log-cli' },
  { name: 'bench:profiling', source: 'bench/profiling-cli' },
  { name: 'bench:grpc', source: 'bench/grpc-cli' },
  { name: 'bench:workers', source: 'bench/workers-cli' },
  { name: 'evaluate', source: 'evaluation/cli' },
  { name: 'soak', source: 'loadtest/soak-cli' },
  { name: 'simulate', source: 'loadtest/simulate-cli' },
  { name: 'ab:report', source: 'abtest/cli' },
  { name: 'errors', source: 'elk/errors-cli' },
  { name: 'test:e2e:logs-loop', source: 'test/e2e/logs-loop' },
];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(source: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [compiled(source), ...args], {
      cwd: PROJECT_ROOT,
      // Only PATH and HOME: no API_KEY, OTEL_* or NODE_OPTIONS from the test runner.
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number | string; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const STACK_LINE = /^\s+at /m;

describe('every CLI', () => {
  it('is in this list: each `node dist/….js` of package.json scripts (the service aside)', () => {
    const scripts = (JSON.parse(readFileSync(`${PROJECT_ROOT}/package.json`, 'utf8')) as { scripts: Record<string, string> }).scripts;
    const run = new Set<string>();
    for (const command of Object.values(scripts)) {
      for (const m of command.matchAll(/\bnode (?:--\S+ )*dist\/([\w/-]+)\.js/g)) run.add(m[1] as string);
    }
    run.delete('src/main');
    assert.deepEqual([...run].sort(), CLIS.map((c) => c.source).sort());
  });

  for (const cli of CLIS) {
    it(`${cli.name} --bogus: exit 2, its usage on stderr, no stack trace`, async () => {
      const result = await run(cli.source, ['--bogus']);
      assert.equal(result.code, 2, result.stderr);
      const lines = result.stderr.split('\n');
      assert.ok(lines[0]?.startsWith(`${cli.name}: `), `the first line names the command: ${lines[0]}`);
      assert.match(lines[0] ?? '', /--bogus/, 'the first line names the bad flag');
      assert.ok(lines.some((l) => l.startsWith('usage: ')), `no usage on stderr:\n${result.stderr}`);
      assert.doesNotMatch(result.stderr, STACK_LINE, `a stack trace:\n${result.stderr}`);
      assert.equal(result.stdout, '');
    });
  }
});

describe('the stack script', () => {
  it('stack/stack.sh --bogus: exit 2, its usage on stderr', async (t) => {
    // lib.sh creates the cache and run directories: scratch ones, removed afterwards.
    const scratch = mkdtempSync(join(tmpdir(), 'recoscope-cli-stack-'));
    t.after(() => rmSync(scratch, { recursive: true, force: true }));
    let result: Run;
    try {
      const { stdout, stderr } = await execFileAsync('bash', [`${PROJECT_ROOT}/stack/stack.sh`, '--bogus'], {
        cwd: PROJECT_ROOT,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', STACK_RUN_DIR: join(scratch, 'run'), STACK_CACHE_DIR: join(scratch, 'cache') },
        timeout: 60_000,
      });
      result = { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code?: number; stdout?: string; stderr?: string };
      result = { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /unknown command '--bogus'/);
    assert.match(result.stderr, /^usage: stack\/stack\.sh up /m);
  });
});

describe('a failure that is not a usage error', () => {
  it('logs against an unreachable Elasticsearch: exit 1, one line, no stack', async () => {
    const port = await freePort();
    const result = await run('elk/logs-cli', ['--since', '1m'], { ELASTICSEARCH_URL: `http://127.0.0.1:${port}` });
    assert.equal(result.code, 1, result.stderr);
    assert.equal(result.stderr.trimEnd().split('\n').length, 1, result.stderr);
    assert.match(result.stderr, /^logs: /);
    assert.doesNotMatch(result.stderr, STACK_LINE);
  });

  it('models: a registry refusal is exit 1 and one line; a ref that does not parse is exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'recoscope-models-cli-'));
    try {
      const refused = await run('src/cli/models', ['promote', 'knn', '20261201T231820123Z-3f9c2a1b', '--dir', dir]);
      assert.equal(refused.code, 1, refused.stderr);
      assert.equal(refused.stderr, 'models: knn has no version 20261201T231820123Z-3f9c2a1b (npm run models -- list knn)\n');
      const bad = await run('src/cli/models', ['show', 'knn@newest', '--dir', dir]);
      assert.equal(bad.code, 2, bad.stderr);
      assert.match(bad.stderr, /^models: "knn@newest": "newest" is neither an alias/);
      assert.doesNotMatch(bad.stderr, STACK_LINE);
      const empty = await run('src/cli/models', ['list', '--dir', dir]);
      assert.equal(empty.code, 0, empty.stderr);
      assert.match(empty.stdout, /no versions/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('kibana:objects --check on a missing file: exit 1, one line', async () => {
    const result = await run('elk/kibana/objects-cli', ['--check', '--out', `${PROJECT_ROOT}/.cache/no-such-dir/saved-objects.ndjson`]);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /^kibana:objects: .* is out of date; run npm run kibana:objects\n$/);
  });
});

describe('--help', () => {
  // bench prints its usage on stderr (its options are parsed inside its main).
  for (const cli of CLIS.filter((c) => c.name !== 'bench')) {
    it(`${cli.name} --help: exit 0, the usage on stdout`, async () => {
      const result = await run(cli.source, ['--help']);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^usage: /);
      assert.equal(result.stderr, '');
    });
  }
});
