/**
 * OpenTelemetry's internal diagnostics (exporter failures above all) into our log, without
 * flooding it: a collector that is down fails every export, and the service must not write
 * one warning per batch for hours. Warnings and errors are rate limited to one line per
 * interval; that line says how many were held back and repeats the latest one.
 */
import type { DiagLogger } from '@opentelemetry/api';

export type DiagSinkLevel = 'warn' | 'info' | 'debug';

/** Where diagnostics go; main.ts injects one that writes to the service log (index.ts setDiagnosticSink). */
export type DiagSink = (level: DiagSinkLevel, message: string, fields: { otelLevel: string; suppressed: number }) => void;

/**
 * The SDK's global error handler passes exceptions as JSON (`{"stack":…,"message":…}`);
 * a log line wants "name: message (code)".
 */
function readableMessage(message: string): string {
  if (!message.startsWith('{')) return message;
  try {
    const parsed = JSON.parse(message) as { name?: unknown; message?: unknown; code?: unknown };
    if (typeof parsed.message !== 'string') return message;
    const name = typeof parsed.name === 'string' ? `${parsed.name}: ` : '';
    const code = typeof parsed.code === 'string' || typeof parsed.code === 'number' ? ` (${parsed.code})` : '';
    return `${name}${parsed.message}${code}`;
  } catch {
    return message;
  }
}

export function formatDiagArgs(message: string, args: unknown[]): string {
  const parts = [readableMessage(message)];
  for (const arg of args) {
    if (arg instanceof Error) parts.push(arg.message);
    else if (typeof arg === 'string') parts.push(arg);
    else {
      try {
        parts.push(JSON.stringify(arg));
      } catch {
        parts.push(String(arg));
      }
    }
  }
  // Exporter errors can be long (response bodies); a log line needs the gist.
  const text = parts.join(' ').replace(/\s+/g, ' ').trim();
  return text.length > 1000 ? `${text.slice(0, 1000)}…` : text;
}

export interface RateLimitedDiagLogger extends DiagLogger {
  /** Writes the pending "N more" line now (shutdown); no-op when nothing is pending. */
  flush(): void;
}

export function rateLimitedDiagLogger(
  sink: DiagSink,
  intervalMs: number,
  now: () => number = Date.now,
): RateLimitedDiagLogger {
  let lastEmit = Number.NEGATIVE_INFINITY;
  let suppressed = 0;
  let lastSuppressed = '';
  let lastSuppressedLevel = 'warn';
  let timer: NodeJS.Timeout | undefined;

  const flush = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (suppressed === 0) return;
    const count = suppressed;
    suppressed = 0;
    lastEmit = now();
    sink('warn', `OpenTelemetry: ${count} more diagnostic(s) in the last ${Math.round(intervalMs / 1000)}s; latest: ${lastSuppressed}`, {
      otelLevel: lastSuppressedLevel,
      suppressed: count,
    });
  };

  const limited = (otelLevel: string) => (message: string, ...args: unknown[]) => {
    const text = formatDiagArgs(message, args);
    const t = now();
    if (timer === undefined && t - lastEmit >= intervalMs) {
      lastEmit = t;
      sink('warn', `OpenTelemetry: ${text}`, { otelLevel, suppressed: 0 });
      return;
    }
    suppressed += 1;
    lastSuppressed = text;
    lastSuppressedLevel = otelLevel;
    if (timer === undefined) {
      timer = setTimeout(flush, Math.max(0, lastEmit + intervalMs - t));
      timer.unref();
    }
  };

  const passThrough = (level: DiagSinkLevel, otelLevel: string) => (message: string, ...args: unknown[]) => {
    sink(level, `OpenTelemetry: ${formatDiagArgs(message, args)}`, { otelLevel, suppressed: 0 });
  };

  return {
    error: limited('error'),
    warn: limited('warn'),
    info: passThrough('info', 'info'),
    debug: passThrough('debug', 'debug'),
    verbose: passThrough('debug', 'verbose'),
    flush,
  };
}
