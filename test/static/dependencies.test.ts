/**
 * `npm ls --omit=dev` lists only what the service loads at run time: no tool-only package that
 * eslint.config.mjs forbids src/ to import is a production dependency of ours, and the tools'
 * heavy packages (autocannon, 0x, d3, playwright, TypeScript) are not in the production tree
 * at all. (`yaml` is: OpenTelemetry's sdk-node depends on it. The Elasticsearch client is too:
 * the optional direct log output, winston-elasticsearch, is built on it.)
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import { describe, it } from 'node:test';
import { PROJECT_ROOT } from '../../src/paths';

/** Packages of the tools that must not be in the production tree, not even indirectly. */
const TOOLS_ONLY = ['autocannon', '0x', 'd3', 'd3-flame-graph', 'playwright', 'playwright-core', 'typescript', 'eslint'];

const TOOL_PACKAGES = JSON.parse(
  (/const TOOL_PACKAGES = (\[[^\]]*\])/.exec(readFileSync(join(PROJECT_ROOT, 'eslint.config.mjs'), 'utf8'))?.[1] ?? '[]').replaceAll("'", '"'),
) as string[];

describe('production dependencies', () => {
  it('no tool-only package of eslint.config.mjs is in package.json dependencies', () => {
    assert.ok(TOOL_PACKAGES.includes('autocannon') && TOOL_PACKAGES.includes('playwright-core'), 'TOOL_PACKAGES not read');
    const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    assert.deepEqual(TOOL_PACKAGES.filter((name) => name in pkg.dependencies), []);
  });

  it('npm ls --omit=dev --parseable has none of the tools\' packages', () => {
    const ls = spawnSync('npm', ['ls', '--omit=dev', '--parseable', '--all'], { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 120_000 });
    assert.equal(ls.status, 0, ls.stderr);
    const packages = new Set(
      ls.stdout
        .split('\n')
        .filter((line) => line.includes(`${sep}node_modules${sep}`))
        .map((line) => line.slice(line.lastIndexOf(`${sep}node_modules${sep}`) + `${sep}node_modules${sep}`.length)),
    );
    assert.ok(packages.has('express') && packages.has('winston'), 'the service packages are listed');
    for (const name of TOOLS_ONLY) assert.ok(!packages.has(name), `${name} is in the production tree`);
  });
});
