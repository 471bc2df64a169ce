/** Text and Markdown tables, and the number formats the benchmark prints. */

export type Align = 'left' | 'right';

export interface Column {
  header: string;
  align: Align;
}

/** Whole numbers with thousands separators ("12 345"); "—" for NaN/undefined. */
export function fmtInt(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '—';
  return Math.round(value)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
}

/** Milliseconds with 2 significant decimals below 10 ms, 1 below 100, none above. */
export function fmtMs(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '—';
  if (value < 10) return value.toFixed(2);
  if (value < 100) return value.toFixed(1);
  return value.toFixed(0);
}

/** A ratio as "0.93×"; "—" when missing. */
export function fmtRatio(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '—';
  return `${value.toFixed(2)}×`;
}

/** A fraction as a percentage, "97%"; "—" when missing. */
export function fmtPct(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '—';
  return `${Math.round(value * 100)}%`;
}

/** Bytes in binary units, "1.23 GiB", "512 B". */
export function fmtBytes(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = value;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${Math.round(v)} B` : `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[u]}`;
}

/** Seconds: "0.84 s", "41.2 s". */
export function fmtSeconds(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '—';
  return value < 10 ? `${value.toFixed(2)} s` : `${value.toFixed(1)} s`;
}

function pad(text: string, width: number, align: Align): string {
  const gap = width - [...text].length;
  if (gap <= 0) return text;
  return align === 'left' ? text + ' '.repeat(gap) : ' '.repeat(gap) + text;
}

/** A plain-text table with aligned columns and a dashed rule under the header. */
export function textTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const widths = columns.map((c, i) => Math.max([...c.header].length, ...rows.map((r) => [...(r[i] ?? '')].length)));
  const line = (cells: readonly string[]): string =>
    columns
      .map((c, i) => pad(cells[i] ?? '', widths[i] as number, c.align))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Escapes the characters that would break a Markdown table cell. */
export function mdCell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** A GitHub-flavoured Markdown table; right-aligned columns get `---:`. */
export function markdownTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const header = `| ${columns.map((c) => mdCell(c.header)).join(' | ')} |`;
  const rule = `|${columns.map((c) => (c.align === 'right' ? '---:' : ':---')).join('|')}|`;
  const body = rows.map((r) => `| ${columns.map((_, i) => mdCell(r[i] ?? '')).join(' | ')} |`);
  return [header, rule, ...body].join('\n');
}
