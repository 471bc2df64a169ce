/**
 * The fault matrix: the whole pipeline on real parts (service with logs + traces + metrics on,
 * Filebeat, Elasticsearch, the OpenTelemetry Collector, Jaeger, Prometheus), a steady load,
 * and one part failing at a time. Each row is a fresh service process (so its counters and
 * its peak RSS are the row's own) under a load of RATE requests/s with the row's user agent:
 *
 *   lead-in → fault → recovery → trail → SIGTERM (or the row's kill -9) → wait for Elasticsearch
 *
 * Measured per row: requests (sent, failed), access lines written to the files, access
 * documents in Elasticsearch, duplicated event ids, spans not exported (the service's own
 * count, said at shutdown), peak RSS (VmHWM). Checked for the Filebeat path: 0 failed
 * requests (except where the service itself is killed), every line in Elasticsearch, no
 * duplicate. The direct path (winston-elasticsearch) rows are measured and their losses
 * checked against the output's own counters: what it loses must be what it says it lost.
 *
 * The table goes into docs/log-shipping.md (the generated section) and the TAP output.
 * Needs root for the full-disk row (a small tmpfs as the log directory); without it that row
 * is reported as not run.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@elastic/elasticsearch';
import { PROJECT_ROOT } from '../../src/paths';
import { collectorOtlpUrl, upTracePipeline } from '../e2e/jaeger-helpers';
import {
  createStack,
  freePort,
  orphans,
  pidAlive,
  removeStack,
  sleep,
  stackCommand,
  stackDown,
  stackPid,
  stackStart,
  stackStop,
  startService,
  waitFor,
  type TestStack,
} from '../e2e/stack';
import type { RunningService } from '../helpers/service';
import { startSteadyLoad, type LoadCounts } from './load';

const API_KEY = `faults-${randomUUID()}`;
const RATE = Number(process.env.FAULTS_RATE ?? '40');
const LEAD_S = 8;
const TRAIL_S = 8;
const ES_OUTAGE_S = 60;
const SHORT_OUTAGE_S = 20;
const DIRECT_INDEX = 'reco-logs-direct';
const DOCS_PAGE = join(PROJECT_ROOT, 'docs', 'log-shipping.md');
const TABLE_START = '<!-- fault-matrix:start (written by npm run test:faults) -->';
const TABLE_END = '<!-- fault-matrix:end -->';

type Path = 'filebeat' | 'direct' | 'both';

interface Row {
  path: Path;
  fault: string;
  requests: LoadCounts;
  written: number;
  inEs: number;
  duplicates: number;
  spansNotExported: string;
  rssPeakMb: string;
  /** What the direct output said about itself at exit (its stderr line), if it ran. */
  directReport?: string;
  note: string;
}

interface RowPlan {
  path: Path;
  fault: string;
  /** Extra service env (direct output, buffer size); a function: the stack exists only once the rows run. */
  env?: () => Record<string, string>;
  /** Runs during the load, after the lead-in; returns a note for the table. */
  inject: (ctx: RowContext) => Promise<string>;
  /** The service is killed by `inject`: no SIGTERM, no shutdown counters. */
  killsService?: boolean;
}

interface RowContext {
  service: RunningService;
  stopLoad: () => Promise<LoadCounts>;
}

const hasRoot = typeof process.getuid === 'function' && process.getuid() === 0;

function vmHwmMb(pid: number): string {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
    return Number.isFinite(kb) ? (kb / 1024).toFixed(0) : '?';
  } catch {
    return '?';
  }
}

/** Event ids of the access lines with this user agent in every NDJSON file of `dir`. */
function writtenIds(dir: string, userAgent: string): Set<string> {
  const ids = new Set<string>();
  if (!existsSync(dir)) return ids;
  const needle = `"original":"${userAgent}"`;
  for (const file of readdirSync(dir).filter((f) => f.includes('.ndjson'))) {
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
      if (!line.includes(needle)) continue;
      try {
        const id = (JSON.parse(line) as { event?: { id?: string } }).event?.id;
        if (id !== undefined) ids.add(id);
      } catch {
        // a torn last line after kill -9: not a written line
      }
    }
  }
  return ids;
}

function markdownTable(rows: Row[]): string {
  const head =
    '| path | fault | requests | failed | lines written | lines in ES | lost | duplicates | spans not exported | RSS peak (MB) | note |\n' +
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n';
  return (
    head +
    rows
      .map(
        (r) =>
          `| ${r.path} | ${r.fault} | ${r.requests.sent} | ${r.requests.failed}${r.requests.retried > 0 ? ` (+${r.requests.retried} retried¹)` : ''} | ${r.written} | ${r.inEs} | ${r.written - r.inEs} | ${r.duplicates} | ${r.spansNotExported} | ${r.rssPeakMb} | ${r.note.replace(/\|/g, '/')} |`,
      )
      .join('\n')
  );
}

function writeDocsTable(rows: Row[], header: string): void {
  const footnote =
    '¹ sent again once after ECONNRESET on a reused kept-alive socket: the service had closed it (for idleness, or by dying in the kill rows, where the retry fails too and is counted as failed).';
  const section = `${TABLE_START}\n${header}\n\n${markdownTable(rows)}\n\n${footnote}\n${TABLE_END}`;
  const text = existsSync(DOCS_PAGE) ? readFileSync(DOCS_PAGE, 'utf8') : `# Log shipping\n\n${TABLE_START}\n${TABLE_END}\n`;
  const start = text.indexOf(TABLE_START);
  const end = text.indexOf(TABLE_END);
  const next = start >= 0 && end > start ? text.slice(0, start) + section + text.slice(end + TABLE_END.length) : `${text}\n${section}\n`;
  writeFileSync(DOCS_PAGE, next);
}

describe('fault matrix: every part fails once under a steady load', { timeout: 90 * 60_000 }, () => {
  let stack: TestStack;
  let es: Client;
  let metricsPort: number;
  let promEnv: Record<string, string>;
  let mounted = false;
  let directLogDir: string;
  const rows: Row[] = [];

  before(async () => {
    stack = await createStack('faults');
    // The log directory on its own small file system, so that "disk full" can be made real.
    mkdirSync(stack.logDir, { recursive: true });
    if (hasRoot) {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256m', 'tmpfs', stack.logDir]);
      mounted = true;
    }
    directLogDir = join(stack.runDir, 'direct-logs');
    ({ es } = await upTracePipeline(stack));
    metricsPort = await freePort();
    promEnv = {
      ...stack.env,
      PROMETHEUS_NAME: 'prometheus-faults',
      PROMETHEUS_PORT: String(await freePort()),
      PROMETHEUS_TARGETS: `127.0.0.1:${metricsPort}`,
      PROMETHEUS_SCRAPE_INTERVAL: '1s',
      PROMETHEUS_EVALUATION_INTERVAL: '1s',
    };
    await stackCommand(['up', 'prometheus'], promEnv);
    console.log(`stack versions:\n${(await stackCommand(['versions', 'es', 'filebeat', 'otelcol', 'jaeger', 'prometheus'], promEnv)).trim()}`);
  });

  after(async () => {
    await es?.close();
    if (stack === undefined) return;
    await stackCommand(['down', 'prometheus'], promEnv).catch(() => undefined);
    await stackDown(['filebeat', 'otelcol', 'jaeger', 'es'], stack.env);
    if (mounted) execFileSync('umount', [stack.logDir]);
    assert.deepEqual(orphans(stack), [], 'no process of the test stack survives stack down');
    removeStack(stack);
  });

  const countDocs = async (index: string, userAgent: string): Promise<{ count: number; duplicates: number }> => {
    await es.indices.refresh({ index });
    const query = { term: { 'user_agent.original': userAgent } };
    const count = (await es.count({ index, query })).count;
    const agg = await es.search({
      index,
      size: 0,
      query,
      aggs: { dup: { terms: { field: 'event.id', min_doc_count: 2, size: 1000 } } },
    });
    const buckets = (agg.aggregations?.dup as { buckets: { doc_count: number }[] } | undefined)?.buckets ?? [];
    return { count, duplicates: buckets.reduce((sum, b) => sum + b.doc_count - 1, 0) };
  };

  const runRow = async (plan: RowPlan): Promise<Row> => {
    const userAgent = `recoscope-faults/${plan.path}/${plan.fault.replace(/\s+/g, '-')}`;
    const logDir = plan.path === 'direct' ? directLogDir : stack.logDir;
    const service = await startService(stack, {
      env: {
        API_KEY,
        LOG_LEVEL: 'info',
        LOG_DIR: logDir,
        LOG_MAX_SIZE_MB: '1',
        LOG_MAX_FILES: '1000',
        METRICS_PORT: String(metricsPort),
        OTEL_EXPORTER_OTLP_ENDPOINT: collectorOtlpUrl(stack.env),
        OTEL_BSP_SCHEDULE_DELAY: '500',
        OTEL_DIAG_LOG_INTERVAL_MS: '5000',
        ...plan.env?.(),
      },
    });
    const pid = service.child.pid ?? 0;
    const load = startSteadyLoad({ url: service.url, apiKey: API_KEY, userAgent, rate: RATE });
    let stoppedCounts: LoadCounts | undefined;
    const stopLoad = async (): Promise<LoadCounts> => (stoppedCounts ??= await load.stop());
    await sleep(LEAD_S * 1000);
    const note = await plan.inject({ service, stopLoad });
    let rssPeakMb = '?';
    let spansNotExported = 'n/a (killed)';
    if (!plan.killsService) {
      await sleep(TRAIL_S * 1000);
      await stopLoad();
      rssPeakMb = vmHwmMb(pid);
      const code = await service.stop('SIGTERM');
      assert.equal(code, 0, `service exit code after SIGTERM\n${service.stderr().slice(-2000)}`);
      const spans = /recoscope: tracing: (\d+) spans ended, (\d+) exported, (\d+) not exported/.exec(service.stderr());
      spansNotExported = spans === null ? '?' : `${spans[3]} of ${spans[1]}`;
    } else {
      rssPeakMb = '(killed)';
      await stopLoad();
    }
    const directReport = /recoscope: log output elasticsearch: \d+ accepted[^\n]*/.exec(service.stderr())?.[0];
    const requests = stoppedCounts ?? (await stopLoad());
    const written = writtenIds(logDir, userAgent).size;
    const index = plan.path === 'direct' ? DIRECT_INDEX : 'reco-logs';
    // Filebeat: everything written must arrive. Direct: what it kept arrives; wait until the
    // count stops moving (it has no disk to catch up from).
    let last = -1;
    let stableSince = Date.now();
    const result = await waitFor(
      async () => {
        const c = await countDocs(index, userAgent);
        if (c.count !== last) {
          last = c.count;
          stableSince = Date.now();
        }
        return c.count >= written || (plan.path === 'direct' && Date.now() - stableSince > 20_000) ? c : undefined;
      },
      300_000,
      `${written} "${userAgent}" documents in ${index}`,
      1_000,
    ).catch(async () => countDocs(index, userAgent));
    // A duplicate would come with Filebeat's next retry: give it a moment, then count again.
    await sleep(3_000);
    const final = await countDocs(index, userAgent);
    const row: Row = {
      path: plan.path,
      fault: plan.fault,
      requests,
      written,
      inEs: Math.max(final.count, result.count),
      duplicates: final.duplicates,
      spansNotExported,
      rssPeakMb,
      note,
      ...(directReport === undefined ? {} : { directReport }),
    };
    rows.push(row);
    console.log(`row: ${JSON.stringify(row)}`);
    return row;
  };

  const outage = (component: 'es' | 'otelcol' | 'jaeger', seconds: number) => async (): Promise<string> => {
    const t0 = Date.now();
    await stackStop([component], stack.env);
    await sleep(seconds * 1000);
    await stackStart([component], stack.env);
    return `${component} down ${Math.round((Date.now() - t0) / 1000)} s (stop to healthy again)`;
  };

  const filebeatRows: RowPlan[] = [
    { path: 'filebeat', fault: `Elasticsearch stopped ${ES_OUTAGE_S} s`, inject: outage('es', ES_OUTAGE_S) },
    { path: 'filebeat', fault: `collector stopped ${SHORT_OUTAGE_S} s`, inject: outage('otelcol', SHORT_OUTAGE_S) },
    { path: 'filebeat', fault: `Jaeger stopped ${SHORT_OUTAGE_S} s`, inject: outage('jaeger', SHORT_OUTAGE_S) },
    {
      path: 'filebeat',
      fault: `Prometheus stopped ${SHORT_OUTAGE_S} s`,
      inject: async () => {
        await stackCommand(['stop', 'prometheus'], promEnv);
        await sleep(SHORT_OUTAGE_S * 1000);
        await stackCommand(['start', 'prometheus'], promEnv);
        return 'scrapes missed; the service does not notice';
      },
    },
    {
      path: 'filebeat',
      fault: 'Filebeat kill -9, restarted after 5 s',
      inject: async () => {
        const pid = stackPid(stack, 'filebeat');
        assert.ok(pid !== undefined, 'Filebeat pid');
        process.kill(pid, 'SIGKILL');
        await waitFor(() => !pidAlive(pid), 10_000, 'Filebeat gone');
        await sleep(5_000);
        await stackStart(['filebeat'], stack.env);
        return 'resumes from its registry: the unacknowledged batch is sent again (409s, not copies)';
      },
    },
    {
      path: 'filebeat',
      fault: `log disk full ${SHORT_OUTAGE_S} s`,
      inject: async () => {
        if (!mounted) return 'NOT RUN: needs root to mount a small tmpfs as the log directory';
        // The service writes between statfs and fallocate: asking for what was free a moment
        // ago can fail with ENOSPC (a CI run did), so take what is free now until none is left.
        const fillers: string[] = [];
        for (let attempt = 0; attempt < 20; attempt++) {
          const free = statfsSync(stack.logDir);
          if (free.bavail === 0) break;
          const filler = join(stack.logDir, `filler-${attempt}.bin`);
          try {
            execFileSync('fallocate', ['-l', String(free.bavail * free.bsize), filler], { stdio: 'ignore' });
            fillers.push(filler);
          } catch {
            rmSync(filler, { force: true });
          }
        }
        await sleep(SHORT_OUTAGE_S * 1000);
        for (const filler of fillers) rmSync(filler);
        return 'lines wait in the writer\'s bounded queue (ENOSPC retried each second), then are written';
      },
    },
    {
      path: 'filebeat',
      fault: 'service kill -9',
      killsService: true,
      inject: async ({ service, stopLoad }) => {
        service.child.kill('SIGKILL');
        await service.exited;
        const c = await stopLoad();
        return `requests in flight at the kill fail (${c.failed}); every line that reached the file is shipped`;
      },
    },
  ];

  const directEnv = (extra: Record<string, string> = {}) => (): Record<string, string> => ({
    LOG_ELASTICSEARCH_URL: stack.esUrl,
    LOG_ELASTICSEARCH_INDEX: DIRECT_INDEX,
    ...extra,
  });
  const directRows: RowPlan[] = [
    { path: 'direct', fault: `Elasticsearch stopped ${ES_OUTAGE_S} s`, env: directEnv(), inject: outage('es', ES_OUTAGE_S) },
    {
      path: 'direct',
      fault: 'service kill -9',
      env: directEnv(),
      killsService: true,
      inject: async ({ service, stopLoad }) => {
        service.child.kill('SIGKILL');
        await service.exited;
        await stopLoad();
        return 'what waited in memory (up to one flush interval, 1 s) is gone';
      },
    },
    {
      path: 'direct',
      fault: `overload: buffer 500 docs, Elasticsearch stopped ${SHORT_OUTAGE_S} s`,
      env: directEnv({ LOG_ELASTICSEARCH_BUFFER_DOCS: '500' }),
      inject: outage('es', SHORT_OUTAGE_S),
    },
  ];

  it('Filebeat path: 0 failed requests, every access line in Elasticsearch exactly once', async (t) => {
    // Every row runs, then every row is checked: one bad row must not hide the others.
    const problems: string[] = [];
    for (const plan of filebeatRows) {
      const row = await runRow(plan);
      t.diagnostic(`${row.fault}: ${row.requests.sent} requests, ${row.written} written, ${row.inEs} in ES, ${row.duplicates} duplicates`);
      if (row.note.startsWith('NOT RUN')) continue;
      if (!plan.killsService && row.requests.failed !== 0) problems.push(`${row.fault}: ${row.requests.failed} failed requests (first: ${row.requests.firstFailure})`);
      if (row.written === 0) problems.push(`${row.fault}: no lines written`);
      if (row.inEs !== row.written) problems.push(`${row.fault}: ${row.written} lines written, ${row.inEs} in Elasticsearch`);
      if (row.duplicates !== 0) problems.push(`${row.fault}: ${row.duplicates} duplicated event ids`);
    }
    assert.deepEqual(problems, []);
  });

  it('direct path: losses are exactly what the output counted, never duplicates', async (t) => {
    const problems: string[] = [];
    for (const plan of directRows) {
      const row = await runRow(plan);
      t.diagnostic(`${row.fault}: ${row.written} written, ${row.inEs} in ES; ${row.directReport ?? 'no report (killed)'}`);
      if (row.duplicates !== 0) problems.push(`${row.fault}: ${row.duplicates} duplicated event ids`);
      if (row.inEs > row.written) problems.push(`${row.fault}: ${row.inEs} in Elasticsearch but ${row.written} written`);
      if (plan.killsService) {
        row.note = `${row.note}: ${row.written - row.inEs} access lines lost`;
        continue;
      }
      if (row.requests.failed !== 0) problems.push(`${row.fault}: ${row.requests.failed} failed requests (first: ${row.requests.firstFailure})`);
      const m = /(\d+) accepted, (\d+) indexed, (\d+) already indexed, (\d+) rejected, (\d+) dropped \(buffer full\), (\d+) not shipped at exit/.exec(
        row.directReport ?? '',
      );
      if (m === null) {
        problems.push(`${row.fault}: no exit report from the direct output: ${row.directReport}`);
        continue;
      }
      const [dropped, notShipped] = [Number(m[5]), Number(m[6])];
      // Access lines are a subset of all lines the output counted: their loss is within its own counts.
      if (row.written - row.inEs > dropped + notShipped) problems.push(`${row.fault}: lost ${row.written - row.inEs} > counted ${dropped + notShipped}`);
      row.note = `${row.note}; the output counted ${dropped} dropped (buffer full), ${notShipped} not shipped at exit`;
    }
    assert.deepEqual(problems, []);
  });

  it('both outputs on one index: no duplicates', async () => {
    const row = await runRow({
      path: 'both',
      fault: 'none (Filebeat and direct into reco-logs)',
      env: () => ({ LOG_ELASTICSEARCH_URL: stack.esUrl, LOG_ELASTICSEARCH_INDEX: 'reco-logs' }),
      inject: () => Promise.resolve('event.id as _id + create: the second copy gets a 409'),
    });
    assert.equal(row.inEs, row.written);
    assert.equal(row.duplicates, 0);
  });

  it('writes the table to docs/log-shipping.md', () => {
    const commit = (() => {
      try {
        return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: PROJECT_ROOT, encoding: 'utf8' }).trim();
      } catch {
        return 'unknown';
      }
    })();
    const header =
      `Run ${new Date().toISOString().slice(0, 16)}Z on commit ${commit}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GB, ` +
      `${RATE} requests/s per row (${LEAD_S} s before the fault, ${TRAIL_S} s after recovery); each row a fresh service process ` +
      '(logs to file + stdout, traces to the collector, metrics scraped by Prometheus every second).';
    writeDocsTable(rows, header);
    console.log(markdownTable(rows));
    assert.ok(rows.length >= filebeatRows.length + directRows.length);
  });
});
