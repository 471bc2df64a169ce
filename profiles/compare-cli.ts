/**
 * `npm run profile:compare -- <runA> <runB>` — or scenario names: `knn popular` compares
 * the latest knn run with the latest popular run, `knn` alone its two latest runs.
 * Writes profiles/runs/compare/<A>-vs-<B>/ (top.md, diff.html, index.html) and prints top.md.
 * Exit codes: 0 done, 1 runs missing or unreadable, 2 bad usage.
 */
import { join, resolve } from 'node:path';
import { displayPath, parseCommandLine, runCli, UsageError } from '../src/cli/usage';
import { flagOrEnv } from '../loadtest/options';
import { compareRuns, resolveRuns } from './compare';
import { DEFAULT_PROFILES_DIR } from './run';
import { readFileSync } from 'node:fs';

const USAGE = `usage: npm run profile:compare -- <runA> <runB> | <scenarioA> <scenarioB> | <scenario>

  A run is a run folder (profiles/runs/knn/20261123T101251Z-b5d7c30) or a scenario name (its latest
  run); one scenario name alone compares its two latest runs (older = A).

  --top <n>              frames taken from each run's top by self time (default 15)
  --profiles-dir <dir>   where the runs are (env PROFILES_DIR; default profiles/runs/)
  --out <dir>            parent of the comparison folder (default <profiles-dir>/compare)
`;

function main(): number {
  const { values, positionals } = parseCommandLine({
    args: process.argv.slice(2),
    allowPositionals: true,
    options: {
      top: { type: 'string' },
      'profiles-dir': { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    process.stdout.write(USAGE);
    return 0;
  }
  const top = values.top === undefined ? 15 : Number(values.top);
  if (!Number.isInteger(top) || top < 1) throw new UsageError(`invalid --top '${values.top}': a positive integer`);
  if (positionals.length < 1 || positionals.length > 2) throw new UsageError(`expected one or two runs, got ${positionals.length} (try --help)`);
  const profilesDir = resolve(flagOrEnv(values, 'profiles-dir', 'PROFILES_DIR', process.env) ?? DEFAULT_PROFILES_DIR);
  const [a, b] = resolveRuns(positionals, profilesDir);
  const result = compareRuns({ a, b, outRoot: values.out === undefined ? join(profilesDir, 'compare') : resolve(values.out), top });
  process.stdout.write(
    `${readFileSync(result.files.top, 'utf8')}\n` +
      `comparison: ${displayPath(result.dir)}\n  side by side: ${displayPath(result.files.index)}\n  differential: ${displayPath(result.files.diff)}\n`,
  );
  return 0;
}

runCli('profile:compare', USAGE, main);
