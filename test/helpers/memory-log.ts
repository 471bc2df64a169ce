/**
 * The log writer's memory output for the in-process HTTP tests: the service's own logger
 * (ECS JSON, redaction, event.id, the access line's fast path), writing every line to this
 * object instead of a file or stdout. Tests wait for the line they expect (the access line is
 * written on the response's 'close', after the client has its answer), never on a fixed sleep.
 */
import { loadConfig } from '../../src/config';
import { configureLogger } from '../../src/observability/logger';
import type { LogRecord } from './service';

export class MemoryLog {
  readonly records: LogRecord[] = [];
  private readonly listeners = new Set<() => void>();

  /** Points the service's logger at this memory output only (no file, no stdout) at `level`. */
  attach(level = 'info'): this {
    const config = loadConfig({ LOG_FILE_ENABLED: 'false', LOG_STDOUT: 'false', LOG_LEVEL: level });
    configureLogger(config, {
      memory: (line) => {
        this.records.push(JSON.parse(line) as LogRecord);
        for (const listener of this.listeners) listener();
      },
    });
    return this;
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
        this.listeners.delete(onLogged);
        resolveRecord(record);
      };
      const timer = setTimeout(() => {
        this.listeners.delete(onLogged);
        rejectRecord(new Error(`no matching log record after ${timeoutMs} ms (${this.records.length} records)`));
      }, timeoutMs);
      this.listeners.add(onLogged);
    });
  }
}
