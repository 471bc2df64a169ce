/**
 * The architectural lint rule, shown failing: eslint.config.mjs forbids a file of the service
 * (src/) to import a tool folder or a tool-only package. A snippet placed (virtually) under
 * src/ is linted through ESLint's Node API with the project's own config; the same snippet
 * under a tool folder is fine, since tools may import the service and their own packages.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { PROJECT_ROOT } from '../../src/paths';

const SNIPPET = [
  "import { runProbe } from '../../bench/probes/protocol';",
  "import autocannon from 'autocannon';",
  "import type { ModelLookup } from '../models/types';",
  'export const used: [unknown, unknown, ModelLookup | undefined] = [runProbe, autocannon, undefined];',
  '',
].join('\n');

const RULE = '@typescript-eslint/no-restricted-imports';

describe('lint rule: the service never imports a tool', () => {
  let eslint: ESLint;
  before(() => {
    // The project's config; type information off, since the snippet is not a file on disk the
    // TypeScript project knows (the import rule needs no types).
    eslint = new ESLint({ cwd: PROJECT_ROOT, overrideConfig: [tseslint.configs.disableTypeChecked] });
  });

  const lint = async (file: string): Promise<{ line: number; ruleId: string | null; message: string }[]> => {
    const [result] = await eslint.lintText(SNIPPET, { filePath: join(PROJECT_ROOT, file) });
    assert.ok(result);
    return result.messages.map((m) => ({ line: m.line, ruleId: m.ruleId, message: m.message }));
  };

  it('reports a src/ file importing ../../bench/… and autocannon, and nothing else', async () => {
    const messages = await lint('src/http/lint-probe.ts');
    assert.deepEqual(
      messages.map((m) => [m.line, m.ruleId]),
      [
        [1, RULE],
        [2, RULE],
      ],
      JSON.stringify(messages),
    );
    assert.match(messages[0]?.message ?? '', /'\.\.\/\.\.\/bench\/probes\/protocol'.*must not import a tool folder/);
    assert.match(messages[1]?.message ?? '', /'autocannon'.*tool-only package/);
  });

  it('lets a tool folder import the same things', async () => {
    assert.deepEqual(await lint('bench/lint-probe.ts'), []);
  });
});
