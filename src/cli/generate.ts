/**
 * npm run data:generate -- [--preset kion|default] [--users N] [--items M]
 *                          [--interactions X] [--seed S] [--out path.csv]
 *
 * Writes the deterministic Kion-schema synthetic dataset as CSV. A preset fills in the sizes;
 * explicit flags override it. `default` is what the server generates in memory by default.
 */
import { loadConfig } from '../config';
import type { SyntheticParams } from '../data/synthetic';
import { KION_PRESET, SyntheticParamsError, validateSyntheticParams, writeSyntheticCsv } from '../data/synthetic';
import { parseCommandLine, runCli, UsageError } from './usage';

const USAGE = `usage: npm run data:generate -- [--preset kion|default] [--users N] [--items M] [--interactions X] [--seed S] [--out FILE]
  --preset kion     ~960k users, 16k items, 5.5M interactions (MTS Kion scale)
  --preset default  the server's default synthetic dataset (SYNTHETIC_* settings)
  --out             default data/generated/kion-like.csv`;

function intFlag(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  // Allow 5_500_000 / 5,500,000 style separators; nothing else.
  const clean = text.replace(/[_,]/g, '');
  if (!/^\d+$/.test(clean)) throw new UsageError(`--${name} must be a non-negative integer, got ${JSON.stringify(text)}`);
  return Number(clean);
}

export function resolveParams(argv: string[]): { params: SyntheticParams; out: string } {
  const { values } = parseCommandLine({
    args: argv,
    options: {
      preset: { type: 'string' },
      users: { type: 'string' },
      items: { type: 'string' },
      interactions: { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help === true) throw new UsageError('');
  const defaults = loadConfig().dataset.synthetic;
  let base: SyntheticParams;
  switch (values.preset) {
    case undefined:
    case 'kion':
      base = { ...KION_PRESET, seed: defaults.seed };
      break;
    case 'default':
      base = { ...defaults };
      break;
    default:
      throw new UsageError(`--preset must be kion or default, got ${JSON.stringify(values.preset)}`);
  }
  const params: SyntheticParams = {
    users: intFlag('users', values.users) ?? base.users,
    items: intFlag('items', values.items) ?? base.items,
    interactions: intFlag('interactions', values.interactions) ?? base.interactions,
    seed: intFlag('seed', values.seed) ?? base.seed,
  };
  try {
    validateSyntheticParams(params);
  } catch (err) {
    if (err instanceof SyntheticParamsError) throw new UsageError(err.message);
    throw err;
  }
  return { params, out: values.out ?? 'data/generated/kion-like.csv' };
}

async function main(): Promise<void> {
  const { params, out } = resolveParams(process.argv.slice(2));
  const started = performance.now();
  const written = await writeSyntheticCsv(params, out);
  const ms = Math.round(performance.now() - started);
  process.stdout.write(
    `wrote ${out}: ${written.rows} interactions, ${params.users} users, ${params.items} items, seed ${params.seed}, ` +
      `${(written.bytes / 1e6).toFixed(1)} MB in ${ms} ms (peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MB)\n`,
  );
}

if (require.main === module) runCli('data:generate', USAGE, main);
