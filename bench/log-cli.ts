/**
 * `npm run bench:log [-- --rounds N --lines N]`: CPU per access line written to the log file,
 * the service's writer against pino + @elastic/ecs-pino-format + sonic-boom, in process
 * (bench/probes/file-log.ts): each variant a fresh probe process pinned to CPU 0 when
 * possible, interleaved over rounds, medians, and the lines found in the file afterwards.
 */
import { loadavg } from 'node:os';
import { parseCommandLine, runCli, UsageError } from '../src/cli/usage';
import { pinningStatus } from '../loadtest/cpu';
import { fmtInt, textTable, type Column } from './format';
import { runProbe } from './probes/protocol';
import type { FileLogProbeResult } from './probes/file-log';
import { median } from './stats';

const USAGE = `usage: npm run bench:log [-- options]
  --rounds N   probe runs per variant, interleaved (default 5)
  --lines N    access lines per probe run (default 100000)
  --per-turn N lines per event-loop turn (default 40: a saturated server; 2: one at 16 connections)`;

const VARIANTS = [
  { id: 'ours', label: 'recoscope: logEcsRecord → log writer (queue bounded, drops counted, rotation)' },
  { id: 'ours-every-turn', label: 'recoscope, LOG_WRITE_DELAY_MS=0 (a write every event-loop turn)' },
  { id: 'pino', label: 'pino + @elastic/ecs-pino-format → sonic-boom (async, minLength 4096)' },
];

async function main(): Promise<number> {
  const { values } = parseCommandLine({
    args: process.argv.slice(2),
    options: { rounds: { type: 'string' }, lines: { type: 'string' }, 'per-turn': { type: 'string' }, help: { type: 'boolean', default: false } },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const rounds = Number(values.rounds ?? 5);
  const lines = Number(values.lines ?? 100_000);
  const perTurn = Number(values['per-turn'] ?? 40);
  if (!Number.isInteger(perTurn) || perTurn < 1) throw new UsageError(`--per-turn must be a positive integer, got '${values['per-turn']}'`);
  if (!Number.isInteger(rounds) || rounds < 1) throw new UsageError(`--rounds must be a positive integer, got '${values.rounds}'`);
  if (!Number.isInteger(lines) || lines < 1000) throw new UsageError(`--lines must be an integer ≥ 1000, got '${values.lines}'`);
  const cpu = pinningStatus([0]).available ? 0 : undefined;
  const results = new Map<string, FileLogProbeResult[]>(VARIANTS.map((v) => [v.id, []]));
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? VARIANTS : [...VARIANTS].reverse();
    for (const v of order) {
      const { result } = await runProbe<FileLogProbeResult>('file-log', {
        env: { FILE_LOG_PROBE: v.id, FILE_LOG_PROBE_LINES: String(lines), FILE_LOG_PROBE_PER_TURN: String(perTurn), NODE_ENV: 'production' },
        timeoutMs: 5 * 60_000,
        ...(cpu === undefined ? {} : { cpu }),
      });
      results.get(v.id)?.push(result);
      process.stderr.write(`[bench:log] round ${round + 1}/${rounds} ${v.id}: ${result.cpuUsPerLine.toFixed(2)} µs/line\n`);
    }
  }
  const ours = median((results.get('ours') ?? []).map((r) => r.cpuUsPerLine));
  const columns: Column[] = [
    { header: 'writer', align: 'left' },
    { header: 'CPU µs/line (median)', align: 'right' },
    { header: 'vs ours', align: 'right' },
    { header: 'bytes/line', align: 'right' },
    { header: 'lines in file / written', align: 'right' },
  ];
  const rows = VARIANTS.map((v) => {
    const rs = results.get(v.id) ?? [];
    const m = median(rs.map((r) => r.cpuUsPerLine));
    return [
      v.label,
      m.toFixed(2),
      `${(m / ours).toFixed(2)}×`,
      fmtInt(median(rs.map((r) => r.bytesPerLine))),
      `${fmtInt(rs.reduce((n, r) => n + r.linesInFile, 0))} / ${fmtInt(rs.reduce((n, r) => n + r.lines, 0))}`,
    ];
  });
  process.stdout.write(
    `Access lines to a log file, in process (${rounds} rounds × ${lines} lines, ${perTurn} per event-loop turn, interleaved; ` +
      `${cpu === undefined ? 'not pinned' : 'pinned to CPU 0'}; load average ${loadavg()[0]?.toFixed(2)}; Node ${process.version})\n\n${textTable(columns, rows)}\n`,
  );
  return 0;
}

if (require.main === module) runCli('bench:log', USAGE, main);
