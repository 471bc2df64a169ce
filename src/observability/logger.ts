/**
 * The service's logger: winston with the ECS JSON format, one NDJSON line per record, written
 * by the project's log writer (./log-writer) to stdout and to a size-rotated file that
 * Filebeat tails. winston stays the logging API; the writer replaces its transports (they
 * buffered without bound, lost lines at rotation and crashed on shutdown under load).
 *
 * Every record gets a unique `event.id` (Filebeat uses it as the Elasticsearch `_id`, so its
 * at-least-once retries never duplicate a line), an `event.dataset`, and the active trace's
 * `trace.id`/`span.id` when tracing is on.
 *
 * The per-request access line takes a fast path (`logEcsRecord`): the same ECS document,
 * built and serialised directly instead of through winston's format pipeline (a unit test
 * compares both paths field by field).
 */
import { randomUUID } from 'node:crypto';
import { join, resolve } from 'node:path';
import winston from 'winston';
import TransportStream from 'winston-transport';
import { ecsFields, ecsStringify } from '@elastic/ecs-winston-format';
import { DEFAULT_CONFIG, type Config } from '../config';
import { APP_DATASET } from '../contracts';
import { configureLogWriter, flushLogWriter, logWriterActive, writeLine } from './log-writer';
import { prettyLine } from './log-writer/pretty';
import { redactDeep, redactString, type Redactor } from './redact';
import { SERVICE_VERSION } from './service-info';
import { activeTraceIds } from './tracing';


interface EventFields {
  id?: string;
  dataset?: string;
  [key: string]: unknown;
}

const MESSAGE = Symbol.for('message');

// Until configureLogger: the configuration's defaults (a CLI's or a failed start-up's lines).
let serviceEnvironment = DEFAULT_CONFIG.serviceEnvironment;
let serviceName = DEFAULT_CONFIG.serviceName;

/**
 * Adds service.*, event.id / event.dataset and trace correlation before the ECS conversion.
 * Service fields are set here, nested, rather than through ecsFields' options: those would
 * also add a dotted `event.dataset` key that clashes with our nested `event.dataset`.
 */
const recoscopeFields = winston.format((info) => {
  info.service = { name: serviceName, version: SERVICE_VERSION, environment: serviceEnvironment };
  const event = ((info.event as EventFields | undefined) ??= {});
  event.id ??= randomUUID();
  event.dataset ??= APP_DATASET;
  if (info.trace === undefined) {
    const ids = activeTraceIds();
    if (ids !== undefined) {
      info.trace = { id: ids.traceId };
      info.span = { id: ids.spanId };
    }
  }
  return info;
});

const redactSecrets = winston.format((info) => {
  redactDeep(info);
  return info;
});

/** The service's log format (also used by the in-process HTTP tests' logger). */
export const ecsFormat = winston.format.combine(
  recoscopeFields(),
  // The Elastic APM agent is not used; trace ids come from OpenTelemetry above.
  ecsFields({ apmIntegration: false, convertErr: true }),
  redactSecrets(),
  ecsStringify(),
);

/** The ECS version ecsFields stamps on every record, read from the format itself. */
const ECS_VERSION = String(
  (ecsFields({ apmIntegration: false }).transform({ level: 'info', message: '' }) as Record<string, unknown>)['ecs.version'],
);

/** Hands winston's serialised line to the log writer: no buffering of its own. */
class WriterTransport extends TransportStream {
  override log(info: Record<string | symbol, unknown>, next: () => void): void {
    writeLine(info[MESSAGE] as string);
    next();
  }
}

/**
 * A logger usable before configuration (start-up errors, CLIs): stdout only (written
 * synchronously until the writer is configured), info level. `configureLogger` re-targets this
 * same instance, so modules can import it at load time.
 */
export const logger = winston.createLogger({
  level: 'info',
  format: ecsFormat,
  transports: [new WriterTransport()],
});

export function logFilePath(log: Config['log']): string {
  return resolve(join(log.dir, log.file));
}

/**
 * Opens the outputs. Throws LogDirError (from ./log-writer) when LOG_DIR cannot be written:
 * the service must stop before doing anything else.
 */
export function configureLogger(
  config: Pick<Config, 'log' | 'serviceEnvironment' | 'serviceName'> & Partial<Pick<Config, 'logElasticsearch'>>,
  { memory }: { memory?: (line: string) => void } = {},
): void {
  serviceEnvironment = config.serviceEnvironment;
  serviceName = config.serviceName;
  configureLogWriter({
    ...(memory === undefined ? {} : { memory }),
    file: config.log.fileEnabled
      ? { dir: config.log.dir, file: config.log.file, maxBytes: config.log.maxSizeBytes, maxFiles: config.log.maxFiles }
      : undefined,
    stdout: config.log.stdout,
    ...(stdoutPretty(config.log.format) ? { stdoutFormat: (line: string) => prettyLine(line, stdoutColours) } : {}),
    elasticsearch: config.logElasticsearch,
    maxQueuedBytes: config.log.bufferBytes,
    reportIntervalMs: config.log.reportIntervalMs,
    writeDelayMs: config.log.writeDelayMs,
    report: (message, details) => logger.warn(message, { event: { action: 'log-output-trouble' }, recoscope: { log_output: details } }),
  });
  logger.configure({
    level: config.log.level,
    format: ecsFormat,
    transports: [new WriterTransport()],
    // With both outputs off (benchmarks of "observability off"), skip the formatting work.
    silent: !logWriterActive(),
  });
}

/** LOG_FORMAT: `auto` is human-readable lines on a terminal, ECS JSON anywhere else. */
function stdoutPretty(format: Config['log']['format']): boolean {
  return format === 'pretty' || (format === 'auto' && process.stdout.isTTY === true);
}

// Node's own answer (it honours NO_COLOR, FORCE_COLOR and the terminal's capabilities).
const stdoutColours = process.stdout.isTTY === true && process.stdout.hasColors();

/** Whether a record of this level would be written at all. */
export function logLevelEnabled(level: string): boolean {
  return !logger.silent && logger.isLevelEnabled(level);
}

/**
 * The fast path: writes `record` as the same ECS document winston would produce for
 * `logger.log(level, message, record)`, without its format pipeline. Every string passes
 * `redact` (the access line uses the URL-aware redactor). The caller checks the level.
 */
export function logEcsRecord(level: string, message: string, record: Record<string, unknown>, redact: Redactor = redactString): void {
  const event = (record.event as EventFields | undefined) ?? {};
  // '@timestamp' and event.id first: Filebeat fingerprints a file by its first 256 bytes.
  const doc: Record<string, unknown> = {
    '@timestamp': new Date().toISOString(),
    'log.level': level,
    event: { id: event.id ?? randomUUID(), ...event, dataset: event.dataset ?? APP_DATASET },
    message,
  };
  for (const key of Object.keys(record)) if (key !== 'event') doc[key] = record[key];
  if (doc.trace === undefined) {
    const ids = activeTraceIds();
    if (ids !== undefined) {
      doc.trace = { id: ids.traceId };
      doc.span = { id: ids.spanId };
    }
  }
  doc.service = { name: serviceName, version: SERVICE_VERSION, environment: serviceEnvironment };
  doc['ecs.version'] = ECS_VERSION;
  redactDeep(doc, 0, redact);
  writeLine(JSON.stringify(doc));
}

/**
 * Writes out every accepted line of every output, at most `timeoutMs`, then stops the outputs
 * (later lines are counted as dropped, never written after the end). Lines still queued at
 * the bound are counted on stderr. Resolves true when everything was written.
 */
export async function flushLogger(timeoutMs = 5_000): Promise<boolean> {
  return (await flushLogWriter(timeoutMs)).flushed;
}
