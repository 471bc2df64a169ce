/**
 * The stack scripts (stack/*.sh), checked without running them: shellcheck finds nothing
 * (CI installs it; skipped only where it is not installed), every HTTP call has timeouts,
 * root is asked for with a clear message before it is needed, and every component the case
 * in stack.sh knows is documented in stack/README.md.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PROJECT_ROOT } from '../../src/paths';

const STACK = join(PROJECT_ROOT, 'stack');
const scripts = readdirSync(STACK)
  .filter((f) => f.endsWith('.sh'))
  .sort();
const read = (file: string): string => readFileSync(join(STACK, file), 'utf8');
/** Lines of code (comments dropped) of a script. */
const codeLines = (file: string): { line: number; text: string }[] =>
  read(file)
    .split('\n')
    .map((text, i) => ({ line: i + 1, text: text.replace(/(^|\s)#.*$/, '') }))
    .filter((l) => l.text.trim() !== '');

describe('stack/*.sh', () => {
  it('shellcheck reports nothing', (t) => {
    if (spawnSync('shellcheck', ['--version']).status !== 0) return t.skip('shellcheck is not installed (apt-get install shellcheck)');
    const r = spawnSync('shellcheck', ['-x', ...scripts.map((f) => join('stack', f)), join('.ci', 'run')], { cwd: PROJECT_ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });

  it('every curl has a connect timeout and a total timeout', () => {
    assert.ok(scripts.includes('lib.sh') && scripts.includes('stack.sh'));
    for (const file of scripts) {
      for (const { line, text } of codeLines(file)) {
        if (!/\bcurl\b/.test(text) || /command -v curl/.test(text)) continue;
        assert.match(text, /--connect-timeout /, `${file}:${line} curl without --connect-timeout`);
        assert.match(text, /--max-time /, `${file}:${line} curl without --max-time`);
      }
    }
  });

  it('Elasticsearch asks for root with one clear message before runuser/useradd/chown', () => {
    const es = read('es.sh');
    assert.match(read('lib.sh'), /require_root\(\) \{\n.*id -u.*die "\$1 needs root/);
    const ensure = /es_ensure_user\(\) \{\n([\s\S]*?)\n\}/.exec(es)?.[1] ?? '';
    assert.match(ensure.split('\n')[0] ?? '', /require_root/, 'es_ensure_user starts with require_root');
    const start = /es_start\(\) \{\n([\s\S]*?)\n\}/.exec(es)?.[1] ?? '';
    assert.ok(start.indexOf('es_ensure_user') >= 0 && start.indexOf('es_ensure_user') < start.indexOf('es_state_dir'), 'es_start checks before touching state');
  });

  it('`down` removes run data (the /var/tmp state of Elasticsearch included) unless STACK_KEEP_DATA=1', () => {
    const stack = read('stack.sh');
    assert.match(stack, /\n {2}down\)\n\s+for c in \$\(reverse\); do\n\s+"\$\{c\}_stop"\n\s+if \[ "\$\{STACK_KEEP_DATA:-0\}" != 1 \]; then reset "\$c"; fi/);
    const reset = /es_reset\(\) \{\n([\s\S]*?)\n\}/.exec(read('es.sh'))?.[1] ?? '';
    assert.match(reset, /rm -rf "\$\(readlink -f "\$d"\)"/);
    assert.match(reset, /rmdir "\$ES_VAR_TMP"/);
    // Nothing else under /var/tmp: the ES home copy lives in the run's state.
    for (const file of scripts) {
      for (const { line, text } of codeLines(file)) {
        if (text.includes('/var/tmp')) assert.match(text, /^ES_VAR_TMP=\/var\/tmp\/recoscope-es$/, `${file}:${line} uses /var/tmp directly`);
      }
    }
  });

  it('each component of stack.sh has its script and a section in stack/README.md', () => {
    const components = [...read('stack.sh').matchAll(/^ {4}([a-z0-9_-]+)\) source "\$here\/([a-z0-9_-]+\.sh)" ;;/gm)].map((m) => [m[1] as string, m[2] as string] as const);
    assert.ok(components.length >= 3, 'no component lines found in stack.sh');
    const readme = readFileSync(join(STACK, 'README.md'), 'utf8');
    for (const [name, script] of components) {
      assert.ok(scripts.includes(script), `${name}: stack/${script} is missing`);
      assert.match(read(script), new RegExp(`^${name}_install\\(\\)|^${name}_start\\(\\)`, 'm'), `${script} does not define ${name}_*`);
      assert.match(readme, new RegExp(`\`${name}\``), `stack/README.md does not mention ${name}`);
    }
  });
});
