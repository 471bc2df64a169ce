/**
 * Hot-path counter and histogram for the per-request metrics. prom-client's own classes
 * validate and hash the label object on every observation (a few µs per request, measurable
 * against a ~70 µs /reco request); these keep one accumulator per series in a Map keyed by a
 * string the caller builds, and hand prom-client's registry the same data shape its own
 * classes do (`get()` → name/help/type/values), so the exposition (text and OpenMetrics,
 * exemplars included) is prom-client's.
 */
import type { Registry, RegistryContentType } from 'prom-client';

interface Exemplar {
  labelSet: Record<string, string>;
  value: number;
  timestamp: number;
}

interface MetricValue {
  labels: Record<string, string | number>;
  sharedLabels?: Record<string, string>;
  value: number;
  metricName?: string;
  exemplar?: Exemplar | null;
}

interface HistogramSeries {
  labels: Record<string, string>;
  /** Per-bucket (non-cumulative) counts; the last slot is +Inf. */
  counts: Float64Array;
  sum: number;
  count: number;
  exemplars: (Exemplar | null)[];
}

function register(registry: Registry<RegistryContentType>, metric: object): void {
  // The registry takes any object with name/help/type/get(); its typings want prom-client's Metric.
  (registry as unknown as { registerMetric(m: object): void }).registerMetric(metric);
}

export class FastHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, HistogramSeries>();

  constructor(
    public name: string,
    readonly help: string,
    private readonly buckets: readonly number[],
    registry: Registry<RegistryContentType>,
  ) {
    register(registry, this);
  }

  /**
   * One observation. `key` identifies the label set (the caller builds it from the label values);
   * `labels` is called only the first time a key is seen.
   */
  observe(key: string, labels: () => Record<string, string>, value: number, traceId: string | undefined): void {
    let s = this.series.get(key);
    if (s === undefined) {
      s = { labels: labels(), counts: new Float64Array(this.buckets.length + 1), sum: 0, count: 0, exemplars: new Array<Exemplar | null>(this.buckets.length + 1).fill(null) };
      this.series.set(key, s);
    }
    let i = 0;
    while (i < this.buckets.length && value > this.buckets[i]!) i++;
    s.counts[i]!++;
    s.sum += value;
    s.count++;
    if (traceId !== undefined) s.exemplars[i] = { labelSet: { trace_id: traceId }, value, timestamp: Date.now() / 1000 };
  }

  reset(): void {
    this.series.clear();
  }

  get(): { name: string; help: string; type: string; values: MetricValue[]; aggregator: string } {
    const values: MetricValue[] = [];
    for (const s of this.series.values()) {
      let cumulative = 0;
      for (let i = 0; i <= this.buckets.length; i++) {
        cumulative += s.counts[i]!;
        values.push({
          labels: { le: i < this.buckets.length ? this.buckets[i]! : '+Inf' },
          sharedLabels: s.labels,
          value: cumulative,
          metricName: `${this.name}_bucket`,
          exemplar: s.exemplars[i] ?? null,
        });
      }
      values.push({ labels: {}, sharedLabels: s.labels, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: {}, sharedLabels: s.labels, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}

export class FastCounter {
  readonly type = 'counter';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, { labels: Record<string, string>; value: number }>();

  constructor(
    /** prom-client renames counters in place for OpenMetrics (see ServiceMetrics.render). */
    public name: string,
    readonly help: string,
    registry: Registry<RegistryContentType>,
  ) {
    register(registry, this);
  }

  inc(key: string, labels: () => Record<string, string>, by = 1): void {
    const s = this.series.get(key);
    if (s === undefined) this.series.set(key, { labels: labels(), value: by });
    else s.value += by;
  }

  reset(): void {
    this.series.clear();
  }

  get(): { name: string; help: string; type: string; values: MetricValue[]; aggregator: string } {
    // No metricName: the registry names counter samples itself (adding `_total` for OpenMetrics).
    const values = [...this.series.values()].map((s) => ({ labels: s.labels, value: s.value }));
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}

/**
 * A counter whose values are read from elsewhere at scrape time (counts another component
 * keeps anyway, like the log writer's drops): nothing to do on the hot path.
 */
export class SampledCounter {
  readonly type = 'counter';
  readonly aggregator = 'sum';

  constructor(
    /** prom-client renames counters in place for OpenMetrics (see ServiceMetrics.render). */
    public name: string,
    readonly help: string,
    private readonly read: () => { labels: Record<string, string>; value: number }[],
    registry: Registry<RegistryContentType>,
  ) {
    register(registry, this);
  }

  get(): { name: string; help: string; type: string; values: MetricValue[]; aggregator: string } {
    return { name: this.name, help: this.help, type: this.type, values: this.read(), aggregator: this.aggregator };
  }
}
