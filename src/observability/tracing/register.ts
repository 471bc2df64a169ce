/**
 * Turns tracing on, if configured. Must run before `http` and `express` are required:
 *
 *   node --require ./dist/src/observability/tracing/register.js dist/src/main.js
 *   or `import './observability/tracing/register';` as the first line of main.ts
 *
 * (both at once are fine: it runs once). Tracing is on when OTEL_EXPORTER_OTLP_ENDPOINT or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set and OTEL_SDK_DISABLED is not "true". Otherwise
 * nothing is loaded: the SDK is required inside the `if`, never at the top of a module.
 */
import type * as SdkModule from './sdk';
import { tracingRequested } from './settings';
import { tracingRuntime } from './state';

const STARTED = Symbol.for('recoscope.tracing.started');
type GlobalWithFlag = typeof globalThis & { [STARTED]?: boolean };

if (tracingRuntime() === undefined && (globalThis as GlobalWithFlag)[STARTED] !== true && tracingRequested()) {
  (globalThis as GlobalWithFlag)[STARTED] = true;
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy on purpose: no SDK load when off
  const { startSdk } = require('./sdk') as typeof SdkModule;
  startSdk();
}
