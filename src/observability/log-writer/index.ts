/**
 * The service's log writer: every log line (winston's application records and the access
 * line's fast path alike) is serialised once by the caller and handed to `writeLine`, which
 * queues the same string on each configured output — the log file and stdout. Each output has
 * its own bounded queue and its own asynchronous batch writer (output.ts), so a slow or broken
 * one (a full disk, a stalled pipe) never delays or stops the other.
 *
 * A third, optional output is in memory (`memory`): each line handed synchronously to a
 * function, so in-process tests see exactly what the file and stdout get, through the same
 * writers and fast paths as production.
 *
 * Guarantees (measured by test/durability/logs-durability.test.ts; docs/log-guarantees.md):
 *  - memory: at most `maxQueuedBytes` of lines wait per output; beyond that lines are dropped
 *    and counted, and the counts are reported once per `reportIntervalMs` on stderr and as a
 *    log record (event.action `log-output-trouble`) through the outputs that still work;
 *  - kill -9: only lines queued but not yet handed to the kernel are lost — those accepted
 *    during the write in flight and the write delay (LOG_WRITE_DELAY_MS), a few milliseconds' worth;
 *  - shutdown: `flushLogWriter` waits until every accepted line of every output is written,
 *    bounded by a timeout; what is still queued then is counted as dropped and said on stderr.
 *
 * Before `configureLogWriter` (CLIs, start-up errors) lines go synchronously to stdout.
 */
import { writeSync } from 'node:fs';
import { LogOutput, type OutputStats } from './output';
import { FdTarget, FileTarget, LogDirError } from './targets';
import { ElasticsearchOutput, type ElasticsearchOutputOptions, type ElasticsearchOutputStats } from './elasticsearch';

export { LogDirError };
export type { OutputStats };

export interface LogWriterOptions {
  file?: { dir: string; file: string; maxBytes: number; maxFiles: number };
  stdout: boolean;
  /** Rewrites each stdout line (human-readable lines for a terminal); the file always gets the line as is. */
  stdoutFormat?: (line: string) => string;
  /** In-process tests: every line (without its newline), synchronously, as accepted. */
  memory?: (line: string) => void;
  /** Direct shipping (winston-elasticsearch), beside the file; off when undefined. */
  elasticsearch?: ElasticsearchOutputOptions;
  /** Per output. */
  maxQueuedBytes: number;
  /** Per output: longest wait of a queued line for its write (output.ts); default 0, every event-loop turn. */
  writeDelayMs?: number;
  reportIntervalMs: number;
  /** Logs a trouble report as a record (through winston, so it is a normal ECS app line). */
  report?: (message: string, details: TroubleReport) => void;
}

export interface TroubleReport {
  output: string;
  dropped: number;
  write_errors: number;
  last_error?: string;
  interval_ms: number;
}

export type LogWriterStats = Partial<Record<'file' | 'stdout', OutputStats>> & { elasticsearch?: ElasticsearchOutputStats };

const MAX_BATCH_BYTES = 1024 * 1024;
const RETRY_MS = 1_000;
/** Queued bytes that start a write at once: enough lines that the hand-off is amortised. */
const EAGER_BATCH_BYTES = 16 * 1024;

let outputs: LogOutput[] = [];
let memoryOutput: ((line: string) => void) | undefined;
let stdoutOutput: LogOutput | undefined;
let stdoutFormat: ((line: string) => string) | undefined;
let fileTarget: FileTarget | undefined;
let direct: ElasticsearchOutput | undefined;
let directReported = { dropped: 0, rejected: 0, failedBulks: 0 };
let reportTimer: NodeJS.Timeout | undefined;
let configured = false;
let ended = false;
/** Per output: counters at the last report, and whether trouble was reported (until it is over). */
const lastReported = new Map<LogOutput, { dropped: number; writeErrors: number; failing: boolean }>();

/**
 * Opens the outputs. Throws LogDirError when the file output's directory cannot be written
 * (the caller stops the service before doing anything else).
 */
export function configureLogWriter(options: LogWriterOptions): void {
  const next: LogOutput[] = [];
  const outputOptions = {
    maxQueuedBytes: options.maxQueuedBytes,
    maxBatchBytes: options.file === undefined ? MAX_BATCH_BYTES : Math.max(1, Math.min(MAX_BATCH_BYTES, options.file.maxBytes)),
    retryMs: RETRY_MS,
    writeDelayMs: options.writeDelayMs ?? 0,
    eagerBatchBytes: EAGER_BATCH_BYTES,
    onError: () => {
      // Counted by the output; reported once per interval by the reporter below.
    },
  };
  let file: FileTarget | undefined;
  if (options.file !== undefined) {
    // The target reports rotation/reopen failures on its output's counters.
    const holder: { output?: LogOutput } = {};
    file = new FileTarget({
      ...options.file,
      onError: (error) => {
        if (holder.output !== undefined) {
          holder.output.stats.writeErrors++;
          holder.output.lastError = error;
          holder.output.failing = true;
        }
      },
    });
    const fileOutput = new LogOutput(file, outputOptions);
    holder.output = fileOutput;
    next.push(fileOutput);
  }
  const stdout = options.stdout ? new LogOutput(new FdTarget('stdout', 1), outputOptions) : undefined;
  if (stdout !== undefined) next.push(stdout);
  for (const old of outputs) old.end();
  void direct?.end(0);
  direct = options.elasticsearch === undefined ? undefined : new ElasticsearchOutput(options.elasticsearch);
  directReported = { dropped: 0, rejected: 0, failedBulks: 0 };
  outputs = next;
  memoryOutput = options.memory;
  stdoutOutput = stdout;
  stdoutFormat = options.stdoutFormat;
  fileTarget = file;
  configured = true;
  ended = false;
  lastReported.clear();
  for (const output of outputs) lastReported.set(output, { dropped: 0, writeErrors: 0, failing: false });
  if (reportTimer !== undefined) clearInterval(reportTimer);
  reportTimer = setInterval(() => reportTrouble(options), options.reportIntervalMs);
  reportTimer.unref();
}

/** Queues one serialised line (without its newline) on every output. Never throws. */
export function writeLine(line: string): void {
  const withNewline = `${line}\n`;
  if (!configured) {
    writeStdoutSync(withNewline);
    return;
  }
  for (let i = 0; i < outputs.length; i++) {
    const output = outputs[i]!;
    output.accept(stdoutFormat !== undefined && output === stdoutOutput ? `${stdoutFormat(line)}\n` : withNewline);
  }
  if (memoryOutput !== undefined && !ended) memoryOutput(line);
  direct?.accept(line);
}

/** Whether any output is configured (false: logging off, callers can skip building lines). */
export function logWriterActive(): boolean {
  return !configured || outputs.length > 0 || memoryOutput !== undefined || direct !== undefined;
}

/** Counters per output, for reports and the metrics endpoint. */
export function logWriterStats(): LogWriterStats {
  const stats: LogWriterStats = {};
  for (const output of outputs) stats[output.name as 'file' | 'stdout'] = output.snapshot();
  if (direct !== undefined) stats.elasticsearch = direct.stats();
  return stats;
}

/** Rotations of the log file since start-up (0 without a file output). */
export function logFileRotations(): number {
  return fileTarget?.rotations ?? 0;
}

/**
 * Waits until every accepted line of every output is written, at most `timeoutMs`; then stops
 * the outputs. Lines still queued at the bound are counted as dropped and said on stderr.
 * Later lines are dropped (counted), never written after the end and never thrown.
 */
export async function flushLogWriter(timeoutMs: number): Promise<{ flushed: boolean; dropped: Record<string, number> }> {
  if (ended || !configured) return { flushed: true, dropped: {} };
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolveTimeout) => {
    timer = setTimeout(() => resolveTimeout(true), Math.max(0, timeoutMs));
  });
  const idle = Promise.all(outputs.map((o) => o.whenIdle())).then(() => false);
  const directLeft = direct?.end(timeoutMs);
  const cut = await Promise.race([idle, timedOut]);
  clearTimeout(timer);
  if (direct !== undefined && directLeft !== undefined) {
    const left = await directLeft;
    const s = direct.stats();
    // One line with every counter: what a user (or the fault matrix) needs to know what was lost.
    writeStderr(
      `recoscope: log output elasticsearch: ${s.accepted} accepted, ${s.indexed} indexed, ${s.alreadyIndexed} already indexed, ` +
        `${s.rejected} rejected, ${s.dropped} dropped (buffer full), ${left} not shipped at exit, ${s.failedBulks} failed bulk requests` +
        `${direct.lastError === undefined ? '' : ` (last error: ${direct.lastError})`}\n`,
    );
  }
  ended = true;
  if (reportTimer !== undefined) clearInterval(reportTimer);
  reportTimer = undefined;
  const dropped: Record<string, number> = {};
  for (const output of outputs) {
    const left = output.end();
    if (left > 0) dropped[output.name] = left;
  }
  const totals = outputs
    .filter((o) => o.stats.dropped > 0)
    .map((o) => `${o.name}: ${o.stats.dropped} lines dropped in total`);
  if (cut) {
    const lost = Object.entries(dropped).map(([name, n]) => `${n} to ${name}`);
    writeStderr(`recoscope: log flush timed out after ${timeoutMs} ms: lines not written: ${lost.join(', ') || 'none'}\n`);
  }
  if (totals.length > 0) writeStderr(`recoscope: log writer: ${totals.join('; ')}\n`);
  return { flushed: !cut, dropped };
}

function reportTrouble(options: LogWriterOptions): void {
  if (direct !== undefined) {
    const s = direct.stats();
    const dropped = s.dropped - directReported.dropped;
    const rejected = s.rejected - directReported.rejected;
    const failed = s.failedBulks - directReported.failedBulks;
    if (dropped > 0 || rejected > 0 || failed > 0) {
      const message =
        `log output elasticsearch: ${dropped} lines dropped (buffer full), ${rejected} rejected, ${failed} failed bulk requests in the last ` +
        `${options.reportIntervalMs} ms; ${s.waiting} waiting` +
        (direct.lastError === undefined ? '' : ` (last: ${direct.lastError})`) +
        `; totals: ${s.dropped} dropped, ${s.rejected} rejected`;
      writeStderr(`recoscope: ${message}\n`);
      options.report?.(message, { output: 'elasticsearch', dropped, write_errors: failed, interval_ms: options.reportIntervalMs });
    }
    directReported = { dropped: s.dropped, rejected: s.rejected, failedBulks: s.failedBulks };
  }
  for (const output of outputs) {
    const last = lastReported.get(output) ?? { dropped: 0, writeErrors: 0, failing: false };
    const dropped = output.stats.dropped - last.dropped;
    const errors = output.stats.writeErrors - last.writeErrors;
    if (dropped > 0 || errors > 0) {
      const error = output.lastError;
      const errorText = error === undefined || errors === 0 ? undefined : `${error.code ?? error.name}: ${error.message}`;
      const message =
        `log output ${output.name}: ${dropped} lines dropped, ${errors} write errors in the last ` +
        `${options.reportIntervalMs} ms` +
        (errorText === undefined ? '' : ` (last: ${errorText})`) +
        `; totals: ${output.stats.dropped} dropped, ${output.stats.writeErrors} write errors`;
      writeStderr(`recoscope: ${message}\n`);
      options.report?.(message, {
        output: output.name,
        dropped,
        write_errors: errors,
        ...(errorText === undefined ? {} : { last_error: errorText }),
        interval_ms: options.reportIntervalMs,
      });
    }
    // Write errors were reported: say so once the output has written successfully again.
    let failing = last.failing || errors > 0;
    if (failing && !output.failing) {
      const message = `log output ${output.name}: writing again`;
      writeStderr(`recoscope: ${message}\n`);
      options.report?.(message, { output: output.name, dropped: 0, write_errors: 0, interval_ms: options.reportIntervalMs });
      failing = false;
    }
    lastReported.set(output, { dropped: output.stats.dropped, writeErrors: output.stats.writeErrors, failing });
  }
}

function writeStdoutSync(text: string): void {
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      writeSync(1, text);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') return;
    }
  }
}

function writeStderr(text: string): void {
  try {
    writeSync(2, text);
  } catch {
    // stderr is gone: nothing else can be told.
  }
}
