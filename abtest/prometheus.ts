/**
 * Per-arm latency from Prometheus, when the report is given `--prometheus URL`: p50 and p99 of
 * the request-duration histogram by its `arm` label over the report's window, by
 * histogram_quantile over the increase of the buckets (the histogram's own resolution: bucket
 * bounds, interpolated linearly inside a bucket).
 */
import { ROUTES } from '../src/contracts';
import type { LatencyMs } from './report';

export const DURATION_HISTOGRAM = 'http_server_request_duration_seconds';

interface PromVector {
  status: string;
  error?: string;
  data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
}

/** The reco route's requests of these arms (names are [a-z0-9_-]: nothing to escape in the regex). */
export function quantileQuery(q: number, windowSeconds: number, arms: readonly string[]): string {
  const selector = `route="${ROUTES.reco}",arm=~"${arms.join('|')}"`;
  return `histogram_quantile(${q}, sum by (le, arm) (increase(${DURATION_HISTOGRAM}_bucket{${selector}}[${Math.max(1, Math.ceil(windowSeconds))}s])))`;
}

async function instantQuery(url: string, query: string, atSeconds: number): Promise<Map<string, number>> {
  const target = `${url.replace(/\/$/, '')}/api/v1/query?query=${encodeURIComponent(query)}&time=${atSeconds}`;
  const res = await fetch(target);
  const body = (await res.json()) as PromVector;
  if (!res.ok || body.status !== 'success') throw new Error(`Prometheus at ${url} answered ${res.status}: ${body.error ?? 'error'}`);
  const out = new Map<string, number>();
  for (const r of body.data?.result ?? []) {
    const v = Number(r.value[1]);
    if (r.metric.arm !== undefined && Number.isFinite(v)) out.set(r.metric.arm, v);
  }
  return out;
}

/** arm → p50/p99 in milliseconds over [from, to] (Unix seconds). */
export async function armLatencyFromPrometheus(url: string, fromSeconds: number, toSeconds: number, arms: readonly string[]): Promise<Map<string, LatencyMs>> {
  const window = toSeconds - fromSeconds;
  const [p50, p99] = await Promise.all([instantQuery(url, quantileQuery(0.5, window, arms), toSeconds), instantQuery(url, quantileQuery(0.99, window, arms), toSeconds)]);
  const out = new Map<string, LatencyMs>();
  for (const [arm, v] of p50) {
    const high = p99.get(arm);
    if (high !== undefined) out.set(arm, { p50: v * 1000, p99: high * 1000 });
  }
  return out;
}
