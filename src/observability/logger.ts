/**
 * The service's logger: winston with the ECS JSON format, one NDJSON line per record, to
 * stdout and to a size-rotated file that Filebeat tails.
 *
 * Every record gets a unique `event.id` (Filebeat uses it as the Elasticsearch `_id`, so its
 * at-least-once retries never duplicate a line), an `event.dataset`, and the active trace's
 * `trace.id`/`span.id` when tracing is on.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import winston from 'winston';
import { ecsFields, ecsStringify } from '@elastic/ecs-winston-format';
import type { Config } from '../config';
import { APP_DATASET } from '../contracts';
import { redactDeep } from './redact';
import { SERVICE_NAME, SERVICE_VERSION } from './service-info';
import { activeTraceIds } from './tracing';


interface EventFields {
  id?: string;
  dataset?: string;
  [key: string]: unknown;
}

/**
 * Adds service.*, event.id / event.dataset and trace correlation before the ECS conversion.
 * Service fields are set here, nested, rather than through ecsFields' options: those would
 * also add a dotted `event.dataset` key that clashes with our nested `event.dataset`.
 */
const recoscopeFields = winston.format((info, opts) => {
  const { serviceEnvironment } = opts as { serviceEnvironment: string };
  info.service = { name: SERVICE_NAME, version: SERVICE_VERSION, environment: serviceEnvironment };
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
export function ecsFormat(serviceEnvironment: string): winston.Logform.Format {
  return winston.format.combine(
    recoscopeFields({ serviceEnvironment }),
    // The Elastic APM agent is not used; trace ids come from OpenTelemetry above.
    ecsFields({ apmIntegration: false, convertErr: true }),
    redactSecrets(),
    ecsStringify(),
  );
}

/**
 * A logger usable before configuration (start-up errors, CLIs): stdout only, info level.
 * `configureLogger` re-targets this same instance, so modules can import it at load time.
 */
export const logger = winston.createLogger({
  level: 'info',
  format: ecsFormat('development'),
  transports: [new winston.transports.Console()],
});

let fileTransport: winston.transports.FileTransportInstance | undefined;

export function logFilePath(log: Config['log']): string {
  return resolve(join(log.dir, log.file));
}

export function configureLogger(config: Pick<Config, 'log' | 'serviceEnvironment'>): void {
  const transports: winston.transport[] = [];
  if (config.log.stdout) transports.push(new winston.transports.Console());
  fileTransport = undefined;
  if (config.log.fileEnabled) {
    mkdirSync(config.log.dir, { recursive: true });
    fileTransport = new winston.transports.File({
      filename: logFilePath(config.log),
      maxsize: config.log.maxSizeBytes,
      maxFiles: config.log.maxFiles,
      // Tailable: the live file keeps its name and older ones are renamed to name1, name2, …
      // Filebeat's filestream follows a renamed file by inode, so lines not yet shipped are
      // read from the renamed file; only the oldest file beyond maxFiles is deleted.
      tailable: true,
    });
    transports.push(fileTransport);
  }
  logger.configure({
    level: config.log.level,
    format: ecsFormat(config.serviceEnvironment),
    transports,
    // With both outputs off (benchmarks of "observability off"), winston would warn on
    // every write that it has no transports; silent skips the formatting work as well.
    silent: transports.length === 0,
  });
}

/**
 * Ends the logger and resolves once the file transport has written everything to disk.
 * The logger's own 'finish' fires before transports flush (winston#1250), so wait on the
 * file transport itself.
 */
export async function flushLogger(timeoutMs = 5_000): Promise<void> {
  const file = fileTransport;
  const done = new Promise<void>((resolveDone) => {
    if (file === undefined) {
      logger.on('finish', () => resolveDone());
    } else {
      file.on('finish', () => resolveDone());
    }
    logger.end();
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolveTimeout) => {
    timer = setTimeout(resolveTimeout, timeoutMs);
  });
  await Promise.race([done, timeout]);
  clearTimeout(timer);
}
