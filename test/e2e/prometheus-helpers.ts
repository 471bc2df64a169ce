/**
 * A real Prometheus for the metrics e2e test: Debian's package run by stack/prometheus.sh
 * (`stack/stack.sh up prometheus`) from a private run dir on a free port, scraping the
 * given targets every second and evaluating every second, plus a small HTTP API client.
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/paths';
import { freePort, stackCommand } from './stack';

export interface TestPrometheus {
  url: string;
  runDir: string;
  version: string;
  /** Instant query; the result vector. */
  query(promql: string): Promise<PromSample[]>;
  api<T>(path: string): Promise<T>;
  stop(): Promise<void>;
}

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface StartPrometheusOptions {
  label: string;
  targets: string[];
  /** Rules directory; default prometheus/rules. */
  rulesDir?: string;
}

/**
 * A copy of prometheus/rules in a temporary dir, with the `for:` of the named alerts replaced
 * (the expressions stay byte for byte), so a test can watch pending → firing in seconds.
 */
export function rulesWithShortFor(alerts: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'recoscope-rules-'));
  cpSync(join(PROJECT_ROOT, 'prometheus', 'rules'), dir, { recursive: true });
  for (const file of ['availability.yml', 'slo.yml', 'model-quality.yml']) {
    const path = join(dir, file);
    let text = readFileSync(path, 'utf8');
    for (const [alert, duration] of Object.entries(alerts)) {
      // From "- alert: <name>" to its first "for:" line, lazily, within one rule.
      text = text.replace(new RegExp(`(- alert: ${alert}\\n(?:(?!\\n      - ).)*?\\n        for: )\\S+`, 's'), `$1${duration}`);
    }
    writeFileSync(path, text);
  }
  return dir;
}

export async function startPrometheus(options: StartPrometheusOptions): Promise<TestPrometheus> {
  const runDir = mkdtempSync(join(tmpdir(), `recoscope-prometheus-${options.label}-`));
  const port = await freePort();
  const env: Record<string, string> = {
    STACK_RUN_DIR: runDir,
    PROMETHEUS_NAME: `prometheus-e2e-${options.label}-${process.pid}`,
    PROMETHEUS_PORT: String(port),
    PROMETHEUS_TARGETS: options.targets.join(','),
    PROMETHEUS_SCRAPE_INTERVAL: '1s',
    PROMETHEUS_EVALUATION_INTERVAL: '1s',
    ...(options.rulesDir === undefined ? {} : { PROMETHEUS_RULES_DIR: options.rulesDir }),
  };
  await stackCommand(['up', 'prometheus'], env);
  const url = `http://127.0.0.1:${port}`;
  const version = (await stackCommand(['versions', 'prometheus'], env)).trim();
  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(10_000) });
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (!res.ok || body.status !== 'success') throw new Error(`Prometheus ${path}: ${res.status} ${body.error ?? ''}`);
    return body.data;
  };
  return {
    url,
    runDir,
    version,
    api,
    query: async (promql) => {
      const data = await api<{ resultType: string; result: PromSample[] }>(`/api/v1/query?query=${encodeURIComponent(promql)}`);
      return data.result;
    },
    stop: async () => {
      await stackCommand(['down', 'prometheus'], env);
    },
  };
}
