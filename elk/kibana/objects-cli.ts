/**
 * npm run kibana:objects [-- --check] [--out FILE]
 *
 * Renders recoscope's Kibana saved objects (elk/kibana-objects.ts: content, wire format) to
 * elk/kibana/saved-objects.ndjson, the file the setup job imports and people can import by
 * hand (Stack Management → Saved objects → Import). --check only compares and exits 1 when
 * the committed file is out of date.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { parseCommandLine, runCli, UsageError } from '../../src/cli/usage';
import { PROJECT_ROOT } from '../../src/paths';
import { renderSavedObjectsNdjson } from './objects';

const DEFAULT_OUT = resolve(PROJECT_ROOT, 'elk', 'kibana', 'saved-objects.ndjson');

const USAGE = `usage: npm run kibana:objects [-- --check] [--out FILE]
  --check      only compare: exit 1 when the file is out of date
  --out FILE   default elk/kibana/saved-objects.ndjson`;

function main(): number {
  const { values } = parseCommandLine({
    args: process.argv.slice(2),
    options: {
      check: { type: 'boolean', default: false },
      out: { type: 'string', default: DEFAULT_OUT },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) throw new UsageError('');
  const out = resolve(values.out);
  const rendered = renderSavedObjectsNdjson();
  const shown = relative(process.cwd(), out) || out;
  if (values.check) {
    let current = '';
    try {
      current = readFileSync(out, 'utf8');
    } catch {
      // missing: out of date
    }
    if (current !== rendered) {
      process.stderr.write(`kibana:objects: ${shown} is out of date; run npm run kibana:objects\n`);
      return 1;
    }
    process.stdout.write(`kibana:objects: ${shown} is up to date\n`);
    return 0;
  }
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, rendered);
  process.stdout.write(`kibana:objects: wrote ${rendered.trimEnd().split('\n').length} saved objects to ${shown}\n`);
  return 0;
}

runCli('kibana:objects', USAGE, main);
