/**
 * When tracing is on, decided from the standard OpenTelemetry environment only. Pure: no
 * OpenTelemetry module is loaded here, so register.ts can decide before requiring the SDK.
 */
export type Env = Record<string, string | undefined>;

function nonEmpty(value: string | undefined): value is string {
  return value !== undefined && value.trim() !== '';
}

function isTrue(value: string | undefined): boolean {
  return value !== undefined && value.trim().toLowerCase() === 'true';
}

/**
 * On when an OTLP endpoint is configured (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or
 * `OTEL_EXPORTER_OTLP_ENDPOINT`), unless `OTEL_SDK_DISABLED=true` or
 * `OTEL_TRACES_EXPORTER=none`.
 */
export function tracingRequested(env: Env = process.env): boolean {
  if (isTrue(env.OTEL_SDK_DISABLED)) return false;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '').split(',').map((s) => s.trim().toLowerCase());
  if (exporters.includes('none')) return false;
  return nonEmpty(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) || nonEmpty(env.OTEL_EXPORTER_OTLP_ENDPOINT);
}

/** `host:port` of the configured OTLP endpoints, so the SDK never traces its own exports. */
export function collectorAddresses(env: Env = process.env): Set<string> {
  const out = new Set<string>();
  for (const raw of [env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, env.OTEL_EXPORTER_OTLP_ENDPOINT]) {
    if (!nonEmpty(raw)) continue;
    try {
      const url = new URL(raw.trim());
      const port = url.port !== '' ? url.port : url.protocol === 'https:' ? '443' : '80';
      out.add(`${url.hostname.replace(/^\[|\]$/g, '')}:${port}`);
    } catch {
      // An unparsable endpoint is the exporter's problem (it reports it through diag).
    }
  }
  return out;
}

/** Milliseconds between two exporter/SDK warnings in our log (`OTEL_DIAG_LOG_INTERVAL_MS`). */
export function diagLogIntervalMs(env: Env = process.env): number {
  const n = Number(env.OTEL_DIAG_LOG_INTERVAL_MS);
  return Number.isFinite(n) && n >= 0 ? n : 30_000;
}

/** Upper bound on `shutdownTracing()` (`OTEL_SHUTDOWN_TIMEOUT_MS`), so a dead collector cannot hold the exit. */
export function shutdownTimeoutMs(env: Env = process.env): number {
  const n = Number(env.OTEL_SHUTDOWN_TIMEOUT_MS);
  return Number.isFinite(n) && n > 0 ? n : 5_000;
}
