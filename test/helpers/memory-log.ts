/**
 * An in-memory winston transport for the in-process HTTP tests: the service's own log format
 * (ECS JSON, redaction, event.id), lines kept as parsed records. Tests wait for the line they
 * expect (the access line is written on the response's 'close', after the client has its
 * answer) on the transport's 'logged' event, never on a fixed sleep.
 */
import winston from 'winston';
// winston's own base class for transports (a dependency of winston, which re-exports it untyped).
import TransportStream from 'winston-transport';
import { ecsFormat } from '../../src/observability/logger';
import type { LogRecord } from './service';

const MESSAGE = Symbol.for('message');

export class MemoryTransport extends TransportStream {
  readonly records: LogRecord[] = [];

  override log(info: Record<string | symbol, unknown>, callback: () => void): void {
    // The formatted line, exactly what the file and stdout transports would write.
    const line = info[MESSAGE];
    this.records.push(JSON.parse(typeof line === 'string' ? line : JSON.stringify(info)) as LogRecord);
    this.emit('logged', info);
    callback();
  }

  /** Resolves with the first record (already logged or still to come) that matches. */
  waitFor(match: (record: LogRecord) => boolean, timeoutMs = 10_000): Promise<LogRecord> {
    const found = this.records.find(match);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolveRecord, rejectRecord) => {
      const onLogged = (): void => {
        const record = this.records.find(match);
        if (record === undefined) return;
        clearTimeout(timer);
        this.off('logged', onLogged);
        resolveRecord(record);
      };
      const timer = setTimeout(() => {
        this.off('logged', onLogged);
        rejectRecord(new Error(`no matching log record after ${timeoutMs} ms (${this.records.length} records)`));
      }, timeoutMs);
      this.on('logged', onLogged);
    });
  }
}

/** A logger with the service's format writing only to `transport`. */
export function memoryLogger(transport: MemoryTransport, level = 'info'): winston.Logger {
  return winston.createLogger({ level, format: ecsFormat, transports: [transport] });
}
