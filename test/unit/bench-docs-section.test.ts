/** The bench's generated section of docs/performance.md: replaced between its markers, the rest kept. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BEGIN_MARKER, END_MARKER, PERFORMANCE_PAGE, withGeneratedSection, writePerformanceSection } from '../../bench/docs-section';

describe('docs/performance.md generated section', () => {
  it('replaces only what is between the markers, again and again', () => {
    const page = `# P\n\nbefore\n\n${BEGIN_MARKER}\nold numbers\n${END_MARKER}\n\nafter\n`;
    const once = withGeneratedSection(page, 'new numbers');
    assert.equal(once, `# P\n\nbefore\n\n${BEGIN_MARKER}\nnew numbers\n${END_MARKER}\n\nafter\n`);
    assert.equal(withGeneratedSection(once, 'newer'), `# P\n\nbefore\n\n${BEGIN_MARKER}\nnewer\n${END_MARKER}\n\nafter\n`);
  });

  it('without markers the page is not touched', () => {
    assert.equal(withGeneratedSection('# P\nno markers\n', 'x'), undefined);
    const file = join(mkdtempSync(join(tmpdir(), 'recoscope-docs-')), 'p.md');
    writeFileSync(file, '# P\n');
    assert.equal(writePerformanceSection('# t\n## a\nrow', file), false);
    assert.equal(readFileSync(file, 'utf8'), '# P\n');
  });

  it("drops results.md's title and moves its headings under the page's", () => {
    const file = join(mkdtempSync(join(tmpdir(), 'recoscope-docs-')), 'p.md');
    writeFileSync(file, `# P\n${BEGIN_MARKER}\n${END_MARKER}\n`);
    assert.equal(writePerformanceSection('# recoscope benchmark results\n- machine\n## Models\nrow', file), true);
    assert.equal(readFileSync(file, 'utf8'), `# P\n${BEGIN_MARKER}\n- machine\n### Models\nrow\n${END_MARKER}\n`);
  });

  it('the real page has the markers', () => {
    const page = readFileSync(PERFORMANCE_PAGE, 'utf8');
    assert.ok(page.includes(BEGIN_MARKER) && page.includes(END_MARKER));
  });
});
