/** Plain-text and Markdown tables of frame shares, for the CLIs and top.md. */
import type { FrameShare } from './folded';

export type Align = 'left' | 'right';

export function pct(share: number, digits = 1): string {
  return `${(share * 100).toFixed(digits)}%`;
}

/** Percentage points with a sign: "+12.3", "-0.4", "0.0". */
export function points(delta: number): string {
  const v = delta * 100;
  const s = v.toFixed(1);
  return v > 0 && s !== '0.0' ? `+${s}` : s === '-0.0' ? '0.0' : s;
}

/** Columns padded to their widest cell, a dashed rule under the header. */
export function textTable(headers: readonly string[], aligns: readonly Align[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (aligns[i] === 'right' ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function mdCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** Inline code (backticks inside become quotes: frame names never need them). */
export function mdCode(text: string): string {
  return `\`${text.replace(/`/g, "'")}\``;
}

export function markdownTable(headers: readonly string[], aligns: readonly Align[], rows: readonly (readonly string[])[]): string {
  const head = `| ${headers.map(mdCell).join(' | ')} |`;
  const rule = `|${aligns.map((a) => (a === 'right' ? '---:' : ':---')).join('|')}|`;
  return [head, rule, ...rows.map((r) => `| ${r.map(mdCell).join(' | ')} |`)].join('\n');
}

/** The profile CLI's table: rank, self share, self samples, inclusive share, frame. */
export function renderTopTable(top: readonly FrameShare[]): string {
  return textTable(
    ['#', 'self', 'samples', 'total', 'frame'],
    ['right', 'right', 'right', 'right', 'left'],
    top.map((f, i) => [String(i + 1), pct(f.selfShare), String(f.self), pct(f.totalShare), f.frame]),
  );
}
