/**
 * npm run kibana:objects [-- --check] [--out FILE]
 *
 * Renders recoscope's Kibana saved objects (elk/kibana-objects.ts) to
 * elk/kibana/saved-objects.ndjson, the file the setup job imports and people can import by
 * hand (Stack Management → Saved objects → Import). --check only compares and exits 1 when
 * the committed file is out of date.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { PROJECT_ROOT } from '../src/paths';
import { parseArgs } from 'node:util';
import { renderSavedObjectsNdjson } from './kibana-objects';

const DEFAULT_OUT = resolve(PROJECT_ROOT, 'elk', 'kibana', 'saved-objects.ndjson');

function main(): number {
  const { values } = parseArgs({
    options: {
      check: { type: 'boolean', default: false },
      out: { type: 'string', default: DEFAULT_OUT },
    },
  });
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

process.exitCode = main();
