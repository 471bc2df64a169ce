/**
 * Optional preload: `node --require ./dist/src/observability/tracing/register.js dist/src/main.js`
 * (`npm run start:traced`) starts tracing before the service's own code runs. Not needed:
 * main.ts starts tracing itself right after reading its configuration (no module is
 * monkey-patched, so nothing has to be hooked early), and a second start is a no-op.
 *
 * Tracing is on when OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set
 * and OTEL_SDK_DISABLED is not "true" (src/config.ts). Otherwise no SDK module is loaded.
 * An invalid OTEL_* value starts nothing here: main.ts then stops with the config error.
 */
import { tracingRequested } from './settings';
import { startTracing } from './index';
import { loadTracingConfig } from '../../config';

if (tracingRequested()) startTracing(loadTracingConfig());
