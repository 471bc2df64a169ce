/** A small parser of the Prometheus text exposition format, for tests that read /metrics. */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Every sample line (comments, blank lines and exemplars skipped). */
export function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]!] = l[2]!.replace(/\\"/g, '"').replace(/\\n/g, '\n').replace(/\\\\/g, '\\');
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

export function seriesOf(samples: Sample[], name: string): Sample[] {
  return samples.filter((s) => s.name === name);
}

/** The value of the one sample with this name and exactly these labels; 0 when absent. */
export function sampleValue(samples: Sample[], name: string, labels: Record<string, string>): number {
  const keys = Object.keys(labels);
  const found = samples.filter(
    (s) => s.name === name && Object.keys(s.labels).length === keys.length && keys.every((k) => s.labels[k] === labels[k]),
  );
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} ${JSON.stringify(labels)}`);
  return found[0]?.value ?? 0;
}

/** Metric family names a scrape exposes (sample names, with _bucket/_sum/_count/_total kept). */
export function sampleNames(samples: Sample[]): Set<string> {
  return new Set(samples.map((s) => s.name));
}

/** The sum over every sample with this name whose labels include these (any other labels, any values). */
export function sampleSum(samples: Sample[], name: string, labels: Record<string, string>): number {
  const keys = Object.keys(labels);
  return samples.filter((s) => s.name === name && keys.every((k) => s.labels[k] === labels[k])).reduce((sum, s) => sum + s.value, 0);
}
