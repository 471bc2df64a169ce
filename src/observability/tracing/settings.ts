/**
 * Whether tracing is on, decided from the standard OpenTelemetry environment validated by
 * src/config.ts. Pure: no OpenTelemetry module is loaded here.
 */
import { ConfigError, loadTracingConfig } from '../../config';

export type Env = Record<string, string | undefined>;

/**
 * On when an OTLP endpoint is configured (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or
 * `OTEL_EXPORTER_OTLP_ENDPOINT`), unless `OTEL_SDK_DISABLED=true` or
 * `OTEL_TRACES_EXPORTER=none`. An invalid OTEL_* setting answers false: the service's
 * configuration check reports it and stops (exit 2).
 */
export function tracingRequested(env: Env = process.env): boolean {
  try {
    return loadTracingConfig(env).enabled;
  } catch (error) {
    if (error instanceof ConfigError) return false;
    throw error;
  }
}
