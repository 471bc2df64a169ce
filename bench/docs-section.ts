/**
 * The generated section of docs/performance.md: what `npm run bench` measured last, written
 * between two marker comments by the bench itself, so the page's numbers are never copied by
 * hand. Everything outside the markers is left as it is.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../src/paths';

export const BEGIN_MARKER = '<!-- bench:begin (written by npm run bench; do not edit by hand) -->';
export const END_MARKER = '<!-- bench:end -->';
export const PERFORMANCE_PAGE = join(PROJECT_ROOT, 'docs', 'performance.md');

/** `page` with the text between the markers replaced by `section`; undefined when the markers are missing. */
export function withGeneratedSection(page: string, section: string): string | undefined {
  const begin = page.indexOf(BEGIN_MARKER);
  const end = page.indexOf(END_MARKER);
  if (begin < 0 || end < begin) return undefined;
  return `${page.slice(0, begin + BEGIN_MARKER.length)}\n${section.trim()}\n${page.slice(end)}`;
}

/** Writes `markdown` (results.md's text, its own title dropped, headings one level down) into the page. */
export function writePerformanceSection(markdown: string, page = PERFORMANCE_PAGE): boolean {
  if (!existsSync(page)) return false;
  const body = markdown
    .split('\n')
    .filter((line) => !line.startsWith('# '))
    .map((line) => (line.startsWith('## ') ? `#${line}` : line))
    .join('\n');
  const next = withGeneratedSection(readFileSync(page, 'utf8'), body);
  if (next === undefined) return false;
  writeFileSync(page, next);
  return true;
}
