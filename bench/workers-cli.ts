/**
 * `npm run bench:workers [-- --rounds N --duration S --connections N]`: the worker model's
 * throughput, WORKERS=2 against WORKERS=1, on this machine, in one run.
 *
 * Both services run at once (same small dataset, file log on, no stdout, no metrics, no
 * tracing); closed-loop keep-alive load (autocannon) on /reco/knn, rounds interleaved
 * (1, 2, 2, 1, ...) so a busy neighbour weighs on both alike. The row is the median rps of
 * each and their ratio (target ≥ 1.7× with 2 workers on 2 free cores). The load generator
 * shares the machine's cores with the workers: on a 2-core machine it takes CPU the second
 * worker would use, which the ratio shows. Writes bench/workers.md.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { freePort, probe } from '../loadtest/child-server';
import { parseCommandLine, runCli, UsageError } from '../src/cli/usage';
import { PROJECT_ROOT, SERVICE_MAIN_JS } from '../src/paths';
import { fmtInt, fmtRatio, markdownTable, textTable, type Column } from './format';
import { machineInfo, machineLines } from './machine';
import { median } from './stats';

const USAGE = `usage: npm run bench:workers [-- options]
  --rounds N        interleaved rounds per configuration (default 3)
  --duration S      seconds per run (default 5)
  --connections N   keep-alive connections (default 32)
  --quick           2 rounds × 3 s (CI); does not write bench/workers.md`;

const API_KEY = 'bench-workers-key-6b1f0d2c9e';
const PATHS = ['/reco/knn/1', '/reco/knn/17', '/reco/knn/123', '/reco/knn/999'];

interface Svc {
  workers: number;
  url: string;
  child: ChildProcess;
  dir: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function startSvc(workers: number): Promise<Svc> {
  const dir = mkdtempSync(join(tmpdir(), `recoscope-bench-workers-${workers}-`));
  const port = await freePort();
  const child = spawn(process.execPath, [SERVICE_MAIN_JS], {
    cwd: PROJECT_ROOT,
    stdio: 'ignore',
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      PORT: String(port),
      HOST: '127.0.0.1',
      API_KEY,
      WORKERS: String(workers),
      METRICS_PORT: '0',
      LOG_STDOUT: 'false',
      LOG_DIR: join(dir, 'logs'),
      ARTIFACTS_DIR: join(dir, 'no-artifacts'),
      NODE_ENV: 'production',
    },
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 180_000;
  while ((await probe(`${url}/health`, 1_000)) !== 200) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`WORKERS=${workers}: service not ready`);
    await sleep(200);
  }
  return { workers, url, child, dir };
}

async function run(url: string, seconds: number, connections: number): Promise<number> {
  const result = await autocannon({
    url,
    connections,
    duration: seconds,
    headers: { authorization: `Bearer ${API_KEY}` },
    requests: PATHS.map((path) => ({ method: 'GET' as const, path })),
  });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return result.requests.average;
}

async function main(): Promise<number> {
  const { values } = parseCommandLine({
    args: process.argv.slice(2),
    options: {
      rounds: { type: 'string' },
      duration: { type: 'string' },
      connections: { type: 'string' },
      quick: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const quick = values.quick === true;
  const rounds = Number(values.rounds ?? (quick ? 2 : 3));
  const seconds = Number(values.duration ?? (quick ? 3 : 5));
  const connections = Number(values.connections ?? 32);
  for (const [name, v] of [['--rounds', rounds], ['--duration', seconds], ['--connections', connections]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new UsageError(`${name} must be a positive integer`);
  }
  const services: Svc[] = [];
  try {
    services.push(await startSvc(1), await startSvc(2));
    // Warm-up: JIT, and the second worker of WORKERS=2 finishing its training.
    for (const s of services) await run(s.url, 2, connections);
    const rps = new Map<number, number[]>([[1, []], [2, []]]);
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? services : [...services].reverse();
      for (const s of order) {
        const r = await run(s.url, seconds, connections);
        rps.get(s.workers)?.push(r);
        process.stderr.write(`[bench:workers] round ${round + 1}/${rounds} WORKERS=${s.workers}: ${r.toFixed(0)} req/s\n`);
      }
    }
    const one = median(rps.get(1) ?? []);
    const two = median(rps.get(2) ?? []);
    const ratio = two / one;
    const columns: Column[] = [
      { header: 'configuration', align: 'left' },
      { header: 'req/s (median)', align: 'right' },
      { header: 'vs WORKERS=1', align: 'right' },
    ];
    const rows = [
      ['WORKERS=1 (one process, no supervisor)', fmtInt(one), fmtRatio(1)],
      ['WORKERS=2 (supervisor + 2 workers)', fmtInt(two), fmtRatio(ratio)],
    ];
    const machine = machineLines(machineInfo());
    const head = `Workers: /reco/knn, ${connections} connections, ${rounds} interleaved rounds × ${seconds} s; load generator on the same machine`;
    process.stdout.write(`${head}\n${machine.join('\n')}\n\n${textTable(columns, rows)}\n\nratio ${ratio.toFixed(2)}× (target ≥ 1.70× on 2 free cores)\n`);
    if (!quick) {
      writeFileSync(
        join(PROJECT_ROOT, 'bench', 'workers.md'),
        `# Workers benchmark (written by \`npm run bench:workers\`)\n\n${head}.\n\n${machine.map((l) => `- ${l}`).join('\n')}\n\n${markdownTable(columns, rows)}\n\nRatio ${ratio.toFixed(2)}× (target ≥ 1.70× with 2 workers on 2 free cores).\n`,
      );
    }
    return 0;
  } finally {
    for (const s of services) {
      s.child.kill('SIGTERM');
      await new Promise((r) => (s.child.exitCode === null ? s.child.once('exit', r) : r(undefined)));
      rmSync(s.dir, { recursive: true, force: true });
    }
  }
}

if (require.main === module) runCli('bench:workers', USAGE, main);
