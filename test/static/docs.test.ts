/**
 * The documentation cannot drift from what it documents: the README stays a front door
 * (≤ 400 lines) linking every docs/ page, every relative link resolves, and the
 * configuration table lists exactly the variables of src/config.ts's schema with the
 * schema's defaults.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, it } from 'node:test';
import { ENV_DEFAULTS, SERVICE_ENV_VARIABLES } from '../../src/config';
import { PROJECT_ROOT } from '../../src/paths';

const read = (file: string): string => readFileSync(join(PROJECT_ROOT, file), 'utf8');
const DOC_PAGES = readdirSync(join(PROJECT_ROOT, 'docs')).filter((f) => f.endsWith('.md'));

/** Markdown link targets outside fenced code blocks. */
function links(markdown: string): string[] {
  const prose = markdown.replace(/^```[\s\S]*?^```/gm, '');
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] as string);
}

/** The service's configuration table: the first table of docs/configuration.md, as name → default cell. */
export function configTable(markdown: string): Map<string, string> {
  const start = markdown.indexOf('| variable | default | meaning |');
  assert.ok(start >= 0, 'no configuration table');
  const rows = new Map<string, string>();
  for (const line of markdown.slice(start).split('\n').slice(2)) {
    if (!line.startsWith('|')) break;
    const cells = line.split(' | ');
    const name = /^\| `([A-Z0-9_]+)`$/.exec(cells[0] ?? '')?.[1];
    assert.ok(name !== undefined, `a row that is not one variable: ${line.slice(0, 80)}`);
    assert.ok(!rows.has(name), `${name} twice`);
    rows.set(name, cells[1] ?? '');
  }
  return rows;
}

/** A default as the table writes it: strings, numbers and booleans as is, lists (CORS_ORIGINS) as JSON. */
function shown(raw: unknown): string | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw === 'string') return raw;
  if (typeof raw === 'number' || typeof raw === 'boolean') return `${raw}`;
  return JSON.stringify(raw);
}

describe('README and docs/', () => {
  const readme = read('README.md');

  it('the README is a front door: at most 400 lines', () => {
    const lines = readme.split('\n').length;
    assert.ok(lines <= 400, `README.md has ${lines} lines`);
  });

  it('links every docs/ page', () => {
    assert.ok(DOC_PAGES.length >= 12, `only ${DOC_PAGES.length} pages in docs/`);
    const linked = new Set(links(readme).map((l) => l.split('#')[0]));
    for (const page of DOC_PAGES) assert.ok(linked.has(`docs/${page}`), `README.md does not link docs/${page}`);
  });

  it('every relative link of the README and the docs pages resolves to a file', () => {
    const broken: string[] = [];
    for (const file of ['README.md', ...DOC_PAGES.map((p) => `docs/${p}`)]) {
      for (const link of links(read(file))) {
        if (/^(https?:|mailto:|#)/.test(link)) continue;
        const target = normalize(join(PROJECT_ROOT, dirname(file), link.split('#')[0] as string));
        if (!existsSync(target)) broken.push(`${file}: ${link}`);
      }
    }
    assert.deepEqual(broken, []);
  });
});

describe('docs/configuration.md against the schema (src/config.ts)', () => {
  const table = configTable(read('docs/configuration.md'));

  it('lists exactly the variables the service reads', () => {
    assert.deepEqual([...table.keys()].sort(), [...SERVICE_ENV_VARIABLES].sort());
  });

  it("gives each variable the schema's default (or says it is unset)", () => {
    const wrong: string[] = [];
    for (const [name, cell] of table) {
      const value = shown(ENV_DEFAULTS[name]);
      const documented = /^`([^`]*)`/.exec(cell)?.[1];
      if (value === undefined) {
        if (documented !== undefined) wrong.push(`${name}: documented default ${documented}, the schema has none`);
      } else if (documented !== value) {
        wrong.push(`${name}: documented ${documented ?? cell}, the schema's default is ${value}`);
      }
    }
    assert.deepEqual(wrong, []);
  });

  it('the table parser reads names and defaults (and would see a missing row)', () => {
    const sample = '| variable | default | meaning |\n| --- | --- | --- |\n| `PORT` | `8080` | port |\n| `API_KEY` | random | key |\n\nafter';
    assert.deepEqual([...configTable(sample)], [
      ['PORT', '`8080`'],
      ['API_KEY', 'random'],
    ]);
  });
});
